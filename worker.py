"""Switchboard's background processes.

    python worker.py              RQ worker for the high, default and low queues
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
from app.jobs.outcomes import SummarizedJob
from app.jobs.schedule import reconcile
from app.redis_client import get_redis


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
    """RQ's worker, telling a stop asked by a signal from a loop it quit on an error."""

    stop_asked = False

    def request_stop(self, signum, frame):
        self.stop_asked = True
        super().request_stop(signum, frame)


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


def build_worker(connection: redis.Redis, app) -> StoppableWorker:
    """A worker for the app's queues that looks for abandoned jobs every WORKER_MAINTENANCE_SECONDS."""
    return StoppableWorker(app.config["RQ_QUEUES"], connection=connection, job_class=SummarizedJob,
                           maintenance_interval=app.config["WORKER_MAINTENANCE_SECONDS"])


def run_worker(connection: redis.Redis, app, burst: bool, rq_level: int) -> None:
    queues = app.config["RQ_QUEUES"]
    while True:
        worker = build_worker(connection, app)
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
    args = parser.parse_args()

    app = create_app()
    rq_level = configure_logging(os.environ.get("WORKER_LOG_LEVEL", "INFO"))
    with app.app_context():
        connection = get_redis()
        if args.scheduler:
            run_scheduler(connection, app, args.interval, args.burst)
        else:
            run_worker(connection, app, args.burst, rq_level)


if __name__ == "__main__":
    main()
