"""Every 15 s: waiting conversations of moderators idle for a minute go to others."""
from __future__ import annotations

from flask import current_app

from ..clock import utcnow
from ..database import write_transaction
from ..services import inactivity
from .context import job_context


def reassign_idle_moderators_work(now_iso: str | None = None) -> int:
    """``now_iso`` lets a test run the check at a chosen instant."""
    from datetime import datetime

    with job_context():
        now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
        with write_transaction():
            moves = inactivity.reassign_from_idle_moderators(now, current_app.config["INACTIVITY_SECONDS"])
        return sum(len(v) for v in moves.taken.values())
