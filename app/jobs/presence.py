"""Periodic sweep: presence left behind by a web process that died."""
from __future__ import annotations

from ..database import write_transaction
from ..models._time import utcnow
from ..redis_client import get_redis
from ..services import presence
from .context import job_context


def sweep_stale_presence() -> int:
    with job_context():
        with write_transaction():
            stale = presence.sweep_stale(get_redis(), utcnow())
        return len(stale)
