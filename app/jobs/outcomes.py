"""What a finished job did, as one log line; nothing when it did nothing.

The periodic jobs run every few seconds and mostly find nothing to do: the worker logs one
line for a job that acted (from what it returns), none for the others. RQ's own lines (taken,
done, result kept: four a job) only show at ``WORKER_LOG_LEVEL=DEBUG`` (see ``worker.py``).
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from rq.job import Job

log = logging.getLogger("switchboard.jobs")


def _count(what: str) -> Callable[[Job, Any], str | None]:
    return lambda job, n: f"{n} {what}" if n else None


def _monitoring(job: Job, report: dict) -> str | None:
    done = [f"{report[key]} {what}" for key, what in (
        ("orphans_assigned", "orphan conversation(s) assigned"),
        ("moved_from_unavailable", "profile(s) moved away from unavailable moderators"),
        ("expired_locks_removed", "expired lock(s) removed"),
        ("load_counters_fixed", "load counter(s) fixed"),
    ) if report.get(key)]
    return ", ".join(done) or None


def _rounds(job: Job, outcome: dict) -> str | None:
    if outcome.get("action") == "round":
        return (f"round {outcome['round_number']} of cycle {outcome['cycle']}: {len(outcome['moderator_ids'])} "
                f"moderator(s) called in for {outcome['pending_count']} waiting message(s)")
    if outcome.get("action") == "cycle_ended":
        return f"cycle {outcome['cycle']} ended: no message waits"
    return None  # nothing pending, not due, conditions not met, …: nothing was done


SUMMARIES: dict[str, Callable[[Job, Any], str | None]] = {
    "app.jobs.assignment.assign_orphan_conversations": _count("orphan conversation(s) assigned"),
    "app.jobs.balancing.rebalance_loads": _count("conversation(s) moved to balance loads"),
    "app.jobs.inactivity.reassign_idle_moderators_work": _count("conversation(s) taken from idle moderators"),
    "app.jobs.locks.clean_expired_locks": _count("expired lock(s) removed"),
    "app.jobs.monitoring.monitor_assignments": _monitoring,
    "app.jobs.presence.sweep_stale_presence": _count("user(s) with stale presence marked offline"),
    "app.jobs.presence.calculate_moderator_activity": _count("quiet moderator(s) marked offline"),
    "app.jobs.presence.confirm_offline_after_grace": lambda job, went: f"user #{job.args[0]} offline" if went else None,
    "app.jobs.rounds.process_pending_messages": _rounds,
    "app.jobs.rounds.check_notification_round": _rounds,
    "app.jobs.rounds.mark_round_messages_notified": _count("message(s) marked notified"),
    "app.jobs.exports.remove_expired_exports": _count("expired export(s) removed"),
    "app.jobs.mail.send_email": lambda job, to: f"sent to {to}",
}


def summary(job: Job, result: Any) -> str | None:
    """The line for a job that returned ``result``; None when it did nothing (a job not listed
    above: when it returned nothing, zero, False or an empty value)."""
    describe = SUMMARIES.get(job.func_name)
    if describe is not None:
        return describe(job, result)
    return None if not result else repr(result)[:300]


class SummarizedJob(Job):
    """An RQ job that logs its summary line once it returned."""

    def perform(self) -> Any:
        started = time.perf_counter()
        result = super().perform()
        try:
            line = summary(self, result)
        except Exception:  # a summary must never fail the job it describes
            log.warning("%s: no summary of %r", self.func_name, result, exc_info=True)
            return result
        if line:
            log.info("%s: %s", self.func_name.rpartition(".")[2], line,
                     extra=fields(self, "ok", time.perf_counter() - started))
        return result


def fields(job: Job, outcome: str, seconds: float | None) -> dict:
    """What a JSON log line says of a job besides its words."""
    return {"job_id": job.id, "job": job.func_name, "queue": job.origin, "attempt": (job.number_of_retries or 0) + 1,
            "outcome": outcome, "duration_ms": round(seconds * 1000, 2) if seconds is not None else None}
