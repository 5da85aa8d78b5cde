"""Switchboard's background processes.

    python worker.py              RQ worker for the high, default and low queues
    python worker.py --scheduler  rq-scheduler: reconciles the periodic jobs, then runs
    python worker.py --burst      run queued jobs, then exit (tests, one-off catch-up)

WORKER_LOG_LEVEL (default INFO): one line per job that did something, none for the others;
RQ's and rq-scheduler's own lines (four per job) only at DEBUG, their warnings and errors always.
"""
from __future__ import annotations

import argparse
import logging
import os

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
            from rq_scheduler import Scheduler

            scheduler = Scheduler(connection=connection, interval=args.interval)
            ids = reconcile(scheduler, app)
            logging.getLogger("switchboard.scheduler").info("periodic jobs: %s", ", ".join(ids))
            scheduler.run(burst=args.burst)
            return
        queues = app.config["RQ_QUEUES"]
        worker = Worker(queues, connection=connection, job_class=SummarizedJob)
        logging.getLogger("switchboard.worker").info("worker %s on %s", worker.name, ", ".join(queues))
        worker.work(burst=args.burst, with_scheduler=True, logging_level=rq_level)


if __name__ == "__main__":
    main()
