"""Periodic end of bans and mutes whose time is up (each with its line in the moderation log)."""
from __future__ import annotations

from ..clock import utcnow
from ..database import write_transaction
from ..services.moderation import sanctions
from .context import job_context


def end_expired_sanctions() -> int:
    with job_context():
        with write_transaction():
            return sanctions.end_expired(utcnow())
