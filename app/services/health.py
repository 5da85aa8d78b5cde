"""Is this deployment able to serve? Each part asked once, with a short time limit: the database
(a query), Redis (a ping), a worker (a heartbeat RQ keeps), the scheduler (the key rq-scheduler
refreshes at every poll). ``/health/ready`` (a load balancer) and ``flask health`` read it."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

import redis
from rq import Worker
from sqlalchemy import text

from ..extensions import db


@dataclass(frozen=True)
class Check:
    name: str  # database, redis, worker, scheduler
    ok: bool
    detail: str  # what was found, for an operator (English, like the logs)
    seconds: float


@dataclass(frozen=True)
class Report:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_dict(self) -> dict:
        return {"status": "ok" if self.ok else "failing",
                "checks": {c.name: {"ok": c.ok, "detail": c.detail, "ms": round(c.seconds * 1000, 1)}
                           for c in self.checks}}


def _timed(name: str, probe) -> Check:
    started = time.perf_counter()
    try:
        ok, detail = probe()
    except Exception as exc:  # noqa: BLE001 - any failure of a part is its answer
        ok, detail = False, f"{type(exc).__name__}: {exc}"[:300]
    return Check(name, ok, detail, time.perf_counter() - started)


def _database() -> tuple[bool, str]:
    db.session.execute(text("SELECT 1"))
    db.session.rollback()
    return True, db.engine.dialect.name


def _redis(r: redis.Redis) -> tuple[bool, str]:
    return bool(r.ping()), "ping"


def _worker(r: redis.Redis, stale_after: float, now: float) -> tuple[bool, str]:
    beats = [w.last_heartbeat for w in Worker.all(connection=r) if w.last_heartbeat is not None]
    fresh = [b for b in beats if now - _epoch(b) <= stale_after]
    if fresh:
        return True, f"{len(fresh)} worker(s), last heartbeat {now - max(_epoch(b) for b in fresh):.0f} s ago"
    return False, "no worker" if not beats else f"no heartbeat for {now - max(_epoch(b) for b in beats):.0f} s"


def _scheduler(r: redis.Redis) -> tuple[bool, str]:
    from .operations import schedulers_alive

    alive = schedulers_alive(r)
    return alive > 0, f"{alive} scheduler(s)" if alive else "no scheduler"


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def readiness(r: redis.Redis, worker_stale_after: float, now: float | None = None) -> Report:
    now = time.time() if now is None else now
    checks = [_timed("database", _database), _timed("redis", lambda: _redis(r))]
    redis_ok = checks[-1].ok
    if redis_ok:
        checks += [_timed("worker", lambda: _worker(r, worker_stale_after, now)),
                   _timed("scheduler", lambda: _scheduler(r))]
    else:
        checks += [Check("worker", False, "Redis unreachable", 0.0), Check("scheduler", False, "Redis unreachable", 0.0)]
    return Report(checks)
