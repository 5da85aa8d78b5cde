"""Presence jobs: the check after a close's grace, the stale-socket sweep, the activity pass."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from ..clock import utcnow
from ..database import write_transaction
from ..redis_client import get_redis
from ..services import presence
from .context import job_context
from .policy import JobKind


def schedule_offline_check(user_id: int, since: datetime):
    """In PRESENCE_GRACE_SECONDS, mark the user offline unless a page came back (RQ's scheduler
    in the worker runs it; if it never runs, the sweep and the activity pass still catch them)."""
    return CONFIRM_OFFLINE.enqueue_in(timedelta(seconds=current_app.config["PRESENCE_GRACE_SECONDS"]),
                                      user_id, since.isoformat(), description=f"offline check of user {user_id}")


def confirm_offline_after_grace(user_id: int, since_iso: str, now_iso: str | None = None) -> bool:
    with job_context():
        now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
        with write_transaction():
            went = presence.confirm_offline(get_redis(), user_id, datetime.fromisoformat(since_iso), now)
        return went


# a worker killed mid-run: the check runs again (it is idempotent)
CONFIRM_OFFLINE = JobKind(confirm_offline_after_grace, queue="high", attempts=3, backoff=5, backoff_max=30,
                          timeout=30, failure_ttl=24 * 3600)


def sweep_stale_presence() -> int:
    with job_context() as app:
        with write_transaction():
            stale = presence.sweep_stale(get_redis(), utcnow(),
                                         timedelta(seconds=app.config["PRESENCE_OFFLINE_AFTER_SECONDS"]))
        return len(stale)


def calculate_moderator_activity(now_iso: str | None = None) -> int:
    """Every 5 minutes: moderators with no sign of activity for 5+ minutes go offline (like the
    sweep, without a push to every queued moderator). ``now_iso`` lets a test choose the instant."""
    with job_context() as app:
        now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
        with write_transaction():
            gone = presence.mark_idle_moderators_offline(get_redis(), now, app.config["PRESENCE_OFFLINE_AFTER_SECONDS"])
        return len(gone)
