"""The background jobs as admins see and handle them (the operations page, ``flask jobs``).

Read from RQ and rq-scheduler in Redis: per queue its depth, oldest waiting job and registries
(the last hour's figures are ``job_metrics``'); the workers with their heartbeat and current
job; the periodic jobs with their interval and next run; the failed jobs, which an admin retries
or deletes. Every function takes the acting user (None: the command line) and checks it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

import redis
from flask_babel import lazy_gettext as _l
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from rq_scheduler import Scheduler

from ..models import User
from ..redis_client import Names
from . import job_metrics
from .errors import NotFound, ServiceError
from .tickets import require_admin

log = logging.getLogger(__name__)


class NotFailed(ServiceError):
    """A retry or a deletion of a job that is not (or no longer) among the failed ones."""
    status_code = 409


def _check(actor: User | None) -> None:
    if actor is not None:  # the command line acts as the operator
        require_admin(actor)


def _value(status) -> str:
    """An RQ state (an enum, or its string) as stored: "failed", "idle", …"""
    return str(getattr(status, "value", status) or "")


def _utc(moment: datetime | None) -> datetime | None:
    """RQ's times, naive UTC like every stored time here."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


@dataclass(frozen=True)
class WorkerRow:
    name: str
    hostname: str
    pid: int | None
    state: str
    queues: list[str]
    current_job: str | None
    last_heartbeat: datetime | None
    successful: int
    failed: int


@dataclass(frozen=True)
class PeriodicRow:
    id: str
    func_name: str
    queue: str
    interval_seconds: int | None
    next_run: datetime | None


@dataclass(frozen=True)
class FailedRow:
    id: str
    queue: str
    func_name: str
    description: str
    ended_at: datetime | None
    error: str


@dataclass
class Overview:
    queues: list[job_metrics.QueueFigures]
    workers: list[WorkerRow]
    periodic: list[PeriodicRow]
    schedulers_alive: int
    failed: list[FailedRow] = field(default_factory=list)
    failed_total: int = 0

    @property
    def alerts(self) -> list[tuple[str, str]]:
        """(queue, alert) for every target missed."""
        return [(q.name, alert) for q in self.queues for alert in q.alerts]


def _oldest_enqueued(queue: Queue) -> datetime | None:
    for job_id in queue.get_job_ids(0, 1):
        job = queue.fetch_job(job_id)
        if job is not None:
            return job.enqueued_at
    return None


def queue_figures(r: redis.Redis, names: Names, settings: job_metrics.Settings, queue_names, now: float
                  ) -> list[job_metrics.QueueFigures]:
    rows = []
    for name in queue_names:
        queue = Queue(name, connection=r)
        figures = job_metrics.figures(r, names, settings, name, now, _oldest_enqueued(queue))
        figures.depth = queue.count
        figures.running = queue.started_job_registry.count
        figures.scheduled = ScheduledJobRegistry(queue=queue).count
        figures.failed_listed = queue.failed_job_registry.count
        rows.append(figures)
    return rows


def workers(r: redis.Redis) -> list[WorkerRow]:
    rows = []
    for worker in sorted(Worker.all(connection=r), key=lambda w: w.name):
        job = worker.get_current_job()
        rows.append(WorkerRow(worker.name, worker.hostname or "", worker.pid, _value(worker.get_state()),
                              worker.queue_names(), (job.description or job.func_name) if job else None,
                              _utc(worker.last_heartbeat), worker.successful_job_count, worker.failed_job_count))
    return rows


def periodic_jobs(r: redis.Redis) -> list[PeriodicRow]:
    rows = []
    for job, next_run in Scheduler(connection=r).get_jobs(with_times=True):
        rows.append(PeriodicRow(job.id, job.func_name, job.origin, job.meta.get("interval"), _utc(next_run)))
    return sorted(rows, key=lambda row: row.id)


def schedulers_alive(r: redis.Redis) -> int:
    """rq-scheduler processes whose key has not expired (each refreshes it every poll) nor says it ended."""
    alive = 0
    for key in r.scan_iter(match=Scheduler.redis_scheduler_namespace_prefix + "*", count=100):
        if not r.hexists(key, "death"):
            alive += 1
    return alive


def overview(actor: User | None, r: redis.Redis, names: Names, settings: job_metrics.Settings, queue_names,
             now: float, failed_page_size: int) -> Overview:
    _check(actor)
    result = Overview(queue_figures(r, names, settings, queue_names, now), workers(r), periodic_jobs(r),
                      schedulers_alive(r))
    result.failed, result.failed_total = failed_jobs(actor, r, queue_names, 1, failed_page_size)
    return result


def _traceback(job: Job) -> str:
    """The traceback of the job's last failed run ("" when its last run did not fail)."""
    result = job.latest_result()
    return (result.exc_string or "") if result is not None and result.type == result.Type.FAILED else ""


def _error_line(job: Job) -> str:
    lines = [line for line in _traceback(job).strip().splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else ""


def failed_jobs(actor: User | None, r: redis.Redis, queue_names, page: int, per_page: int
                ) -> tuple[list[FailedRow], int]:
    """A page of the failed jobs of every queue, the latest first, and how many there are."""
    _check(actor)
    listed: list[tuple[str, str]] = []
    for name in queue_names:
        listed += [(job_id, name) for job_id in FailedJobRegistry(name, connection=r).get_job_ids()]
    pipe = r.pipeline(transaction=False)
    for job_id, _ in listed:
        pipe.hget(Job.key_for(job_id), "ended_at")  # the registry's order is its expiry, not the failure's
    ended = [(value or b"").decode() for value in pipe.execute()]
    listed = [row for _, row in sorted(zip(ended, listed), reverse=True)]
    start = max(0, (page - 1) * per_page)
    rows = []
    for job_id, name in listed[start:start + per_page]:
        job = Job.fetch(job_id, connection=r) if r.exists(Job.key_for(job_id)) else None
        if job is None:
            rows.append(FailedRow(job_id, name, "", "", None, ""))
            continue
        rows.append(FailedRow(job.id, name, job.func_name, job.description or job.func_name, _utc(job.ended_at),
                              _error_line(job)))
    return rows, len(listed)


def failed_between(actor: User | None, r: redis.Redis, queue_names, start: datetime, end: datetime) -> int:
    """Jobs that failed for good in [start, end) (naive UTC) and are still listed (a week by default)."""
    _check(actor)
    pipe = r.pipeline(transaction=False)
    for name in queue_names:
        for job_id in FailedJobRegistry(name, connection=r).get_job_ids():
            pipe.hget(Job.key_for(job_id), "ended_at")
    low, high = _rq_time(start), _rq_time(end)
    return sum(1 for value in pipe.execute() if value and low <= value.decode() < high)


def _rq_time(moment: datetime) -> str:
    """A stored time as RQ writes its times (ISO 8601, UTC, sortable as text)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class JobDetail:
    id: str
    func_name: str
    description: str
    queue: str
    status: str
    arguments: str
    enqueued_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    retries_left: int | None
    attempts: int | None  # allowed in all, from its kind's policy
    traceback: str


def _job(r: redis.Redis, job_id: str) -> Job:
    try:
        return Job.fetch(job_id, connection=r)
    except (NoSuchJobError, ValueError):
        raise NotFound(_l("No such job (it may have been deleted, or its result expired).")) from None


def job_detail(actor: User | None, r: redis.Redis, job_id: str) -> JobDetail:
    from ..jobs.policy import kind_of, shown_arguments

    _check(actor)
    job = _job(r, job_id)
    kind = kind_of(job)
    return JobDetail(job.id, job.func_name, job.description or job.func_name, job.origin, _value(job.get_status()),
                     shown_arguments(job), _utc(job.enqueued_at), _utc(job.started_at), _utc(job.ended_at),
                     job.retries_left, kind.attempts if kind else None, _traceback(job))


def _failed(r: redis.Redis, job_id: str) -> Job:
    job = _job(r, job_id)
    if job.get_status() != JobStatus.FAILED or job_id not in FailedJobRegistry(job.origin, connection=r):
        raise NotFailed(_l("This job has not failed: only failed jobs are retried or deleted here."))
    return job


def retry(actor: User | None, r: redis.Redis, job_id: str) -> Job:
    """A failed job back on its queue, to run once more."""
    _check(actor)
    job = _failed(r, job_id)
    FailedJobRegistry(job.origin, connection=r).requeue(job)
    log.info("failed job %s (%s) retried by %s", job.id, job.func_name, _who(actor))
    return job


def retry_all(actor: User | None, r: redis.Redis, queue_names) -> int:
    _check(actor)
    count = 0
    for name in queue_names:
        registry = FailedJobRegistry(name, connection=r)
        for job_id in registry.get_job_ids():
            try:
                registry.requeue(job_id)
                count += 1
            except (NoSuchJobError, redis.RedisError, ValueError):
                registry.remove(job_id)  # its data expired: nothing left to run
    log.info("%d failed job(s) retried by %s", count, _who(actor))
    return count


def delete(actor: User | None, r: redis.Redis, job_id: str) -> None:
    """A failed job forgotten: out of the failed list, its data removed."""
    _check(actor)
    job = _failed(r, job_id)
    FailedJobRegistry(job.origin, connection=r).remove(job, delete_job=True)
    log.info("failed job %s (%s) deleted by %s", job.id, job.func_name, _who(actor))


def _who(actor: User | None) -> str:
    return f"user #{actor.id}" if actor is not None else "the command line"
