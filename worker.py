"""Switchboard's background processes.

    python worker.py              RQ worker for the high, default and low queues
    python worker.py --scheduler  rq-scheduler: reconciles the periodic jobs, then runs
    python worker.py --burst      run queued jobs, then exit (tests, one-off catch-up)
"""
from __future__ import annotations

import argparse
import logging

from rq import Worker

from app import create_app
from app.jobs.schedule import reconcile
from app.redis_client import get_redis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scheduler", action="store_true", help="run rq-scheduler instead of a worker")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--interval", type=float, default=1.0, help="scheduler polling interval (s)")
    args = parser.parse_args()

    app = create_app()
    with app.app_context():
        connection = get_redis()
        if args.scheduler:
            from rq_scheduler import Scheduler

            scheduler = Scheduler(connection=connection, interval=args.interval)
            ids = reconcile(scheduler, app)
            logging.getLogger("switchboard.scheduler").info("periodic jobs: %s", ", ".join(ids))
            scheduler.run(burst=args.burst)
            return
        worker = Worker(app.config["RQ_QUEUES"], connection=connection)
        worker.work(burst=args.burst, with_scheduler=True, logging_level="INFO")


if __name__ == "__main__":
    main()
