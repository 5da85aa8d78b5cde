"""How each kind of job runs: its queue, time limit, result keeping and retries.

A job module declares its kind next to the job (``PROCESS_PHOTO = JobKind(process_photo, ...)``)
and enqueues through it, so a job's policy is read in one place. Retries back off exponentially
(``backoff`` seconds, doubled each time up to ``backoff_max``), each delay drawn between half and
all of it: jobs that failed together (an SMTP server down) do not all come back together. A job
that has used its attempts lands in RQ's failed registry with its exception, and admins are
alerted (``jobs.notifications.alert_admins_on_failure``). Periodic jobs have no retry: their next
run is one.
"""
from __future__ import annotations

import functools
import importlib
import pkgutil
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable

from flask import current_app
from rq import Queue, Retry
from rq.job import Job

from ..redis_client import get_redis

KINDS: dict[str, "JobKind"] = {}  # by the job function's dotted name (RQ's func_name)


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis())


def _all_args(args: tuple, kwargs: dict) -> str:
    shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return ", ".join(shown)


@dataclass(frozen=True)
class JobKind:
    func: Callable
    queue: str = "default"
    attempts: int = 1  # runs in all, the first one included
    backoff: float = 10.0  # seconds before the first retry
    backoff_max: float = 900.0
    timeout: int | str = 60  # seconds, or the name of the setting that holds them
    result_ttl: int = 600
    failure_ttl: int = 7 * 24 * 3600  # how long a failed job stays listed for a retry
    # What the operations page and ``flask jobs`` show of a job's arguments (a mail's text holds
    # links that must not be read by anyone but its recipient).
    shown: Callable[[tuple, dict], str] = field(default=_all_args)

    def __post_init__(self) -> None:
        KINDS[self.name] = self

    @property
    def name(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    def delays(self, rng: random.Random | None = None) -> list[int]:
        """The pauses before each retry, jittered (whole seconds, at least one)."""
        rng = rng or random
        return [max(1, round(min(self.backoff_max, self.backoff * 2 ** i) * rng.uniform(0.5, 1.0)))
                for i in range(self.attempts - 1)]

    def _options(self, description: str | None) -> dict[str, Any]:
        timeout = self.timeout if isinstance(self.timeout, int) else current_app.config[self.timeout]
        options: dict[str, Any] = {"job_timeout": timeout, "result_ttl": self.result_ttl,
                                   "failure_ttl": self.failure_ttl, "description": description}
        if self.attempts > 1:
            options["retry"] = Retry(max=self.attempts - 1, interval=self.delays())
        return options

    def enqueue(self, *args, description: str | None = None, **kwargs) -> Job:
        return get_queue(self.queue).enqueue(self.func, *args, **self._options(description), **kwargs)

    def enqueue_in(self, delay: timedelta, *args, description: str | None = None, **kwargs) -> Job:
        return get_queue(self.queue).enqueue_in(delay, self.func, *args, **self._options(description), **kwargs)

    @property
    def timeout_setting(self) -> str | None:
        return self.timeout if isinstance(self.timeout, str) else None


@functools.cache
def _declared() -> dict[str, JobKind]:
    """Every kind, once each job module was imported (a web process has not run them all)."""
    from .. import jobs

    for module in pkgutil.iter_modules(jobs.__path__):
        importlib.import_module(f"{jobs.__name__}.{module.name}")
    return KINDS


def kind_of(job: Job) -> JobKind | None:
    return _declared().get(job.func_name)


def all_kinds() -> list[JobKind]:
    return sorted(_declared().values(), key=lambda kind: kind.name)


def shown_arguments(job: Job) -> str:
    """A job's arguments as its kind lets them be shown (all of them for a job of no kind)."""
    kind = kind_of(job)
    try:
        args, kwargs = tuple(job.args or ()), dict(job.kwargs or {})
    except Exception:  # noqa: BLE001 - arguments that no longer load (a renamed class): say so
        return "(arguments unreadable)"
    return (kind.shown if kind else _all_args)(args, kwargs)[:2000]
