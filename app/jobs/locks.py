"""Periodic cleaning of expired profile and client locks."""
from __future__ import annotations

from ..clock import utcnow
from ..database import write_transaction
from ..services import locks
from .context import job_context


def clean_expired_locks() -> int:
    with job_context():
        with write_transaction():
            return locks.clean_expired(utcnow())
