"""What the workers did, kept in Redis for the operations page and ``flask jobs status``.

Each job that ends (done, failed and retried, failed for good) adds one to its queue's count for
that minute, and its wait (enqueued to started) and run (started to ended) times to its queue's
recent timings, from which the last hour's percentiles are read. Both expire on their own: a
minute's counts after JOB_STATS_KEEP_SECONDS, timings once older than that (and past
JOB_TIMINGS_KEPT per queue).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import redis

from ..redis_client import Names
from .percentiles import percentile

OUTCOMES = ("ok", "retried", "failed")


@dataclass(frozen=True)
class Settings:
    keep_seconds: int  # how long counts and timings are kept
    timings_kept: int  # per queue, at most
    window_seconds: int  # the period the figures cover (an hour)
    wait_alert_seconds: float  # a job waiting longer: alert
    run_alert_seconds: float  # a job running longer: alert
    failure_rate_alert: float  # failed for good / ended, over the window

    @classmethod
    def from_config(cls, config) -> "Settings":
        return cls(config["JOB_STATS_KEEP_SECONDS"], config["JOB_TIMINGS_KEPT"], config["JOB_STATS_WINDOW_SECONDS"],
                   config["JOB_WAIT_ALERT_SECONDS"], config["JOB_RUN_ALERT_SECONDS"], config["JOB_FAILURE_RATE_ALERT"])


def _seconds(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def record(r: redis.Redis, names: Names, settings: Settings, *, queue: str, job_id: str, func_name: str,
           outcome: str, enqueued_at: datetime | None, started_at: datetime | None,
           ended_at: datetime | None) -> None:
    """One ended run of a job (``outcome``: ok, retried or failed)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    ended = _seconds(ended_at) or time.time()
    started, enqueued = _seconds(started_at), _seconds(enqueued_at)
    wait = max(0.0, started - enqueued) if started is not None and enqueued is not None else -1.0
    run = max(0.0, ended - started) if started is not None else -1.0
    minute_key, timings_key = names.job_minute(queue, int(ended // 60)), names.job_timings(queue)
    pipe = r.pipeline(transaction=False)
    pipe.hincrby(minute_key, outcome, 1)
    pipe.expire(minute_key, settings.keep_seconds)
    pipe.zadd(timings_key, {f"{job_id}:{ended:.3f}:{wait:.3f}:{run:.3f}:{outcome}:{func_name}": ended})
    pipe.zremrangebyscore(timings_key, 0, ended - settings.keep_seconds)
    pipe.zremrangebyrank(timings_key, 0, -settings.timings_kept - 1)
    pipe.expire(timings_key, settings.keep_seconds)
    pipe.execute()


@dataclass(frozen=True)
class Timing:
    job_id: str
    ended: float
    wait: float | None
    run: float | None
    outcome: str
    func_name: str


def recent(r: redis.Redis, names: Names, queue: str, since: float) -> list[Timing]:
    """A queue's jobs ended since ``since`` (seconds since 1970), oldest first."""
    return [_timing(m) for m in r.zrangebyscore(names.job_timings(queue), since, "+inf")]


def _timing(member: bytes) -> Timing:
    job_id, ended, wait, run, outcome, func_name = member.decode().split(":", 5)
    return Timing(job_id, float(ended), float(wait) if float(wait) >= 0 else None,
                  float(run) if float(run) >= 0 else None, outcome, func_name)


@dataclass
class QueueFigures:
    name: str
    depth: int = 0  # waiting to run
    running: int = 0
    scheduled: int = 0  # delayed, or waiting for a retry
    failed_listed: int = 0  # in the failed registry (kept for a retry)
    oldest_wait: float | None = None  # seconds the oldest waiting job has waited
    per_minute: list[int] = field(default_factory=list)  # jobs ended per minute, oldest first
    ended: int = 0
    failed: int = 0  # failed for good, in the window
    retried: int = 0
    wait_p50: float | None = None
    wait_p95: float | None = None
    run_p50: float | None = None
    run_p95: float | None = None
    slow: list[Timing] = field(default_factory=list)  # ran longer than the alert threshold, slowest first
    alerts: list[str] = field(default_factory=list)  # "wait", "run", "failures"

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.ended if self.ended else None


def figures(r: redis.Redis, names: Names, settings: Settings, queue: str, now: float,
            oldest_enqueued: datetime | None) -> QueueFigures:
    """A queue's last window: counts per minute, percentiles, and which targets it misses (its
    depth and registries are the caller's, read from RQ)."""
    minutes = max(1, settings.window_seconds // 60)
    last = int(now // 60)
    pipe = r.pipeline(transaction=False)
    for minute in range(last - minutes + 1, last + 1):
        pipe.hgetall(names.job_minute(queue, minute))
    pipe.zrangebyscore(names.job_timings(queue), now - settings.window_seconds, "+inf")
    *counts, members = pipe.execute()
    result = QueueFigures(queue)
    for count in counts:
        by_outcome = {k.decode(): int(v) for k, v in count.items()}
        result.per_minute.append(sum(by_outcome.values()) - by_outcome.get("retried", 0))
        result.failed += by_outcome.get("failed", 0)
        result.retried += by_outcome.get("retried", 0)
    result.ended = sum(result.per_minute)
    timings = [_timing(m) for m in members]
    waits = [t.wait for t in timings if t.wait is not None]
    runs = [t.run for t in timings if t.run is not None]
    result.wait_p50, result.wait_p95 = percentile(waits, 0.5), percentile(waits, 0.95)
    result.run_p50, result.run_p95 = percentile(runs, 0.5), percentile(runs, 0.95)
    result.slow = sorted((t for t in timings if t.run is not None and t.run > settings.run_alert_seconds),
                         key=lambda t: -t.run)[:10]
    started = _seconds(oldest_enqueued)
    result.oldest_wait = max(0.0, now - started) if started is not None else None
    waited_long = (result.oldest_wait or 0) > settings.wait_alert_seconds or any(
        w > settings.wait_alert_seconds for w in waits)
    result.alerts = [name for name, on in (
        ("wait", waited_long),
        ("run", bool(result.slow)),
        ("failures", result.failure_rate is not None and result.failure_rate > settings.failure_rate_alert),
    ) if on]
    return result
