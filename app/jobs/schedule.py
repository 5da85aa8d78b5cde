"""Every periodic job, declared once, with a deterministic id and its interval from config.

The scheduler reconciles this list when it starts: jobs no longer listed are cancelled,
listed ones are (re)scheduled, so two scheduler starts never duplicate a job.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from rq_scheduler import Scheduler

from .assignment import assign_orphan_conversations
from .backups import back_up_database
from .balancing import rebalance_loads
from .cleanup import remove_old_rows
from .reports import send_daily_report
from .exports import remove_expired_exports
from .inactivity import reassign_idle_moderators_work
from .locks import clean_expired_locks
from .monitoring import monitor_assignments
from .presence import calculate_moderator_activity, sweep_stale_presence
from .sanctions import end_expired_sanctions
from .rounds import check_notification_round, process_pending_messages


@dataclass(frozen=True)
class Periodic:
    id: str
    func: object
    interval_setting: str
    queue: str = "default"
    timeout: int | str = 180  # seconds, or the name of the setting that holds them


PERIODIC_JOBS = (
    Periodic("switchboard-assign-orphans", assign_orphan_conversations, "ORPHAN_SWEEP_SECONDS"),
    Periodic("switchboard-sweep-presence", sweep_stale_presence, "PRESENCE_SWEEP_SECONDS"),
    Periodic("switchboard-clean-locks", clean_expired_locks, "LOCK_CLEAN_SECONDS"),
    Periodic("switchboard-monitoring", monitor_assignments, "MONITORING_SECONDS"),
    Periodic("switchboard-balance", rebalance_loads, "BALANCE_SECONDS"),
    Periodic("switchboard-inactivity", reassign_idle_moderators_work, "INACTIVITY_CHECK_SECONDS", queue="high"),
    Periodic("switchboard-moderator-activity", calculate_moderator_activity, "PRESENCE_ACTIVITY_CHECK_SECONDS"),
    Periodic("switchboard-pending-messages", process_pending_messages, "ROUNDS_PROCESS_SECONDS"),
    Periodic("switchboard-round-check", check_notification_round, "ROUNDS_CHECK_SECONDS"),
    Periodic("switchboard-end-sanctions", end_expired_sanctions, "SANCTION_END_SECONDS"),
    Periodic("switchboard-expired-exports", remove_expired_exports, "EXPORT_CLEAN_SECONDS", queue="low"),
    Periodic("switchboard-cleanup", remove_old_rows, "CLEANUP_SECONDS", queue="low", timeout="CLEANUP_TIMEOUT_SECONDS"),
    Periodic("switchboard-daily-report", send_daily_report, "DAILY_REPORT_CHECK_SECONDS", queue="low"),
    Periodic("switchboard-backup", back_up_database, "BACKUP_SECONDS", queue="low",
             timeout="BACKUP_TOOL_TIMEOUT_SECONDS"),
)


def reconcile(scheduler: Scheduler, app: Flask) -> list[str]:
    """Make the scheduler hold exactly PERIODIC_JOBS; returns the ids scheduled."""
    wanted = {p.id: p for p in PERIODIC_JOBS}
    for job in scheduler.get_jobs():
        if job.id.startswith("switchboard-"):
            scheduler.cancel(job)
            job.delete()
    for periodic in wanted.values():
        scheduler.schedule(
            scheduled_time=_now(), func=periodic.func, interval=app.config[periodic.interval_setting],
            repeat=None, id=periodic.id, queue_name=periodic.queue, result_ttl=600,
            timeout=periodic.timeout if isinstance(periodic.timeout, int) else app.config[periodic.timeout],
        )
    return list(wanted)


def _now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)
