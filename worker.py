"""Switchboard's background processes.

    python worker.py              RQ worker for the high, default and low queues
    python worker.py --queues high   a worker of its own for some queues (in that order)
    python worker.py --scheduler  rq-scheduler: reconciles the periodic jobs, then runs
    python worker.py --burst      run queued jobs, then exit (tests, one-off catch-up)

WORKER_LOG_LEVEL (default INFO): one line per job that did something, none for the others;
RQ's and rq-scheduler's own lines (four per job) only at DEBUG, their warnings and errors always.

Redis restarting does not end either process: RQ's worker quits its loop on an error outside
its wait for jobs, rq-scheduler on any lost connection; both start again once Redis answers.
Only a stop signal (or --burst) ends them.
"""
from __future__ import annotations

import argparse
import logging
import os
import time

import redis
from rq import Worker

from app import create_app
from app.jobs.notifications import alert_admins_of_failure
from app.jobs.outcomes import SummarizedJob, fields
from app.jobs.schedule import reconcile
from app.extensions import db
from app.redis_client import get_redis, names
from app.services import job_metrics


def configure_logging(setting: str) -> int:
    """Our loggers at ``setting``; RQ's at WARNING unless DEBUG is asked. Returns RQ's level."""
    level = logging.getLevelName(setting.strip().upper())
    if not isinstance(level, int):
        raise SystemExit(f"WORKER_LOG_LEVEL: {setting!r} is not a logging level (DEBUG, INFO, WARNING, ERROR)")
    rq_level = level if level <= logging.DEBUG else max(level, logging.WARNING)
    logging.getLogger().setLevel(max(level, logging.INFO))  # the libraries' DEBUG stays off (SQL, …)
    logging.getLogger("switchboard").setLevel(level)
    for name in ("rq", "rq_scheduler"):
        logging.getLogger(name).setLevel(rq_level)
    return rq_level


log = logging.getLogger("switchboard.worker")


class StoppableWorker(Worker):
    """RQ's worker, telling a stop asked by a signal from a loop it quit on an error; it records
    each job's end (``services.job_metrics``) and alerts admins of a job that failed for good,
    whether it raised, ran out of time or its process was killed."""

    stop_asked = False
    app = None

    def request_stop(self, signum, frame):
        self.stop_asked = True
        super().request_stop(signum, frame)

    def handle_job_success(self, job, queue, started_job_registry, execution):
        super().handle_job_success(job, queue, started_job_registry, execution)
        self._record(job, "ok")

    def handle_job_failure(self, job, queue, started_job_registry=None, exc_string="", execution=None):
        final = not job.should_retry
        super().handle_job_failure(job, queue, started_job_registry=started_job_registry, exc_string=exc_string,
                                   execution=execution)
        outcome = "failed" if final else "retried"
        self._record(job, outcome)
        run = (job.ended_at - job.started_at).total_seconds() if job.ended_at and job.started_at else None
        log.warning("%s %s: %s", job.func_name.rpartition(".")[2], "failed for good" if final else "failed, to be retried",
                    _last_line(exc_string), extra=fields(job, outcome, run))
        if final:
            alert_admins_of_failure(job, _last_line(exc_string))

    def _record(self, job, outcome: str) -> None:
        try:
            with self.app.app_context():
                job_metrics.record(self.connection, names(), job_metrics.Settings.from_config(self.app.config),
                                   queue=job.origin, job_id=job.id, func_name=job.func_name, outcome=outcome,
                                   enqueued_at=job.enqueued_at, started_at=job.started_at, ended_at=job.ended_at)
        except Exception:  # noqa: BLE001 - figures must never fail the job they describe
            log.warning("job %s: its timings were not recorded", job.id, exc_info=True)


def _last_line(exc_string: str) -> str:
    """The exception's own line of a traceback (the last one that says something)."""
    lines = [line for line in (exc_string or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "failed"


def wait_for_redis(connection: redis.Redis, longest: float = 10.0) -> None:
    """Return once Redis answers a ping, trying with a growing pause."""
    pause = 0.5
    while True:
        try:
            connection.ping()
            return
        except redis.RedisError as exc:
            log.warning("Redis unreachable (%s); trying again in %.1f s", exc, pause)
            time.sleep(pause)
            pause = min(pause * 2, longest)


def build_worker(connection: redis.Redis, app, queues=None) -> StoppableWorker:
    """A worker for the app's queues (or ``queues``) that looks for abandoned jobs every
    WORKER_MAINTENANCE_SECONDS."""
    worker = StoppableWorker(queues or app.config["RQ_QUEUES"], connection=connection, job_class=SummarizedJob,
                             maintenance_interval=app.config["WORKER_MAINTENANCE_SECONDS"])
    worker.app = app
    return worker


def run_worker(connection: redis.Redis, app, burst: bool, rq_level: int, queues=None) -> None:
    queues = queues or app.config["RQ_QUEUES"]
    engine = db.engine
    # A work horse is forked from this process: it opens database connections of its own instead
    # of sharing the parent's (which the parent uses too, when it records a killed horse's failure).
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    while True:
        worker = build_worker(connection, app, queues)
        log.info("worker %s on %s", worker.name, ", ".join(queues))
        worker.work(burst=burst, with_scheduler=True, logging_level=rq_level)
        if worker.stop_asked or burst:
            return
        log.warning("worker %s quit its loop on an error; starting again once Redis answers", worker.name)
        time.sleep(1.0)
        wait_for_redis(connection)


def run_scheduler(connection: redis.Redis, app, interval: float, burst: bool) -> None:
    from rq_scheduler import Scheduler

    scheduler = Scheduler(connection=connection, interval=interval)
    ids = reconcile(scheduler, app)
    logging.getLogger("switchboard.scheduler").info("periodic jobs: %s", ", ".join(ids))
    while True:
        try:
            scheduler.run(burst=burst)
            return
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            logging.getLogger("switchboard.scheduler").warning("scheduler lost Redis (%s); starting again", exc)
        wait_for_redis(connection)
        scheduler = Scheduler(connection=connection, interval=interval)  # the periodic jobs are in Redis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scheduler", action="store_true", help="run rq-scheduler instead of a worker")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--interval", type=float, default=1.0, help="scheduler polling interval (s)")
    parser.add_argument("--queues", help="comma-separated queue names, by priority (default: high,default,low)")
    args = parser.parse_args()

    app = create_app()
    rq_level = configure_logging(os.environ.get("WORKER_LOG_LEVEL", "INFO"))
    with app.app_context():
        connection = get_redis()
        if args.scheduler:
            run_scheduler(connection, app, args.interval, args.burst)
        else:
            queues = [q.strip() for q in args.queues.split(",") if q.strip()] if args.queues else None
            run_worker(connection, app, args.burst, rq_level, queues)


if __name__ == "__main__":
    main()
