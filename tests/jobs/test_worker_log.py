"""The worker's log: one line for a job that did something, none for one that did nothing; RQ's
own lines (four a job) only at ``WORKER_LOG_LEVEL=DEBUG``.

These tests run their own worker (and scheduler) processes on a Redis database of their own, so
the worker shared by the other tests takes none of their jobs and they read their process's
whole output."""
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
import redis
from rq import Queue
from rq.job import Job
from rq.results import Result

from app.clock import utcnow
from app.database import write_transaction
from app.jobs.assignment import assign_orphan_conversations
from app.jobs.locks import clean_expired_locks
from app.jobs.schedule import PERIODIC_JOBS
from app.models import Role
from app.services import locks
from tests.support.factories import make_profile, make_user
from tests.support.jobs import redis_url_of_database
from tests.support.processes import ROOT, child_env, dies_with_the_tests, stop
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow  # starts its own worker and scheduler processes

OWN_DATABASE = 9
RQ_DETAIL = ("Job OK", "Successfully completed", "result is kept", "Listening on", "cleaning registries")


@pytest.fixture
def own_redis(app):
    """REDIS_URL of a database only these tests use, emptied of RQ's and our keys before and after."""
    url = redis_url_of_database(os.environ["REDIS_URL"], OWN_DATABASE)
    connection = redis.Redis.from_url(url)

    def empty():
        for pattern in ("rq:*", app.extensions["redis_names"].everything):
            keys = list(connection.scan_iter(pattern, count=1000))
            if keys:
                connection.delete(*keys)

    empty()
    yield url, connection
    empty()
    connection.close()


def start(args, log: Path, **env) -> subprocess.Popen:
    environment = child_env()
    environment.pop("WORKER_LOG_LEVEL", None)  # the default unless a test sets it
    environment.update({k: str(v) for k, v in env.items()})
    return subprocess.Popen([sys.executable, "worker.py", *args], cwd=ROOT, env=environment, stdout=open(log, "wb"),
                            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=dies_with_the_tests)


def log_file(name: str) -> Path:
    return Path(os.environ["SWITCHBOARD_INSTANCE"]).parent / name


def test_periodic_jobs_that_find_nothing_to_do_log_nothing(own_redis):
    """Worker and scheduler run every periodic job each second on empty tables (none has anything
    to do) until each ran twice: the worker's output is its start-up line, not a line per job.
    The backup always has something to do (a database to copy): it keeps its daily interval and
    its one line."""
    url, connection = own_redis
    quiet = [periodic for periodic in PERIODIC_JOBS if periodic.id != "switchboard-backup"]
    every_second = {periodic.interval_setting: 1 for periodic in quiet}
    worker_log, scheduler_log = log_file("quiet-worker.log"), log_file("quiet-scheduler.log")
    worker = start([], worker_log, REDIS_URL=url)
    scheduler = start(["--scheduler", "--interval", "0.2"], scheduler_log, REDIS_URL=url, **every_second)
    try:
        def each_ran_twice():
            jobs = [Job.fetch(p.id, connection=connection) if connection.exists(f"rq:job:{p.id}") else None
                    for p in quiet]
            return all(job is not None and Result.count(job) >= 2 for job in jobs)

        # seconds on a quiet machine, several times that on a loaded one: the budget only bounds a failure
        wait_until(each_ran_twice, timeout=90, interval=0.2)
    finally:
        stop(scheduler)
        stop(worker)
    lines = worker_log.read_text().splitlines()
    per_job = [line for line in lines if any(word in line for word in RQ_DETAIL)
               or any(p.id in line or p.func.__name__ in line for p in quiet)]
    assert per_job == []
    assert [line for line in lines if " INFO " in line and "switchboard.worker" not in line
            and "back_up_database" not in line] == []
    assert any("switchboard.worker" in line and "high, default, low" in line for line in lines), lines  # it did log
    scheduler_lines = scheduler_log.read_text().splitlines()
    assert [line for line in scheduler_lines if " INFO " in line and "switchboard.scheduler" not in line] == []


def expired_lock() -> None:
    moderator, profile = make_user(Role.MODERATOR), make_profile()
    with write_transaction():
        locks.lock_profile(profile.id, moderator.id, utcnow() - timedelta(seconds=current_app.config["PROFILE_LOCK_SECONDS"] + 60))


def run_burst(url: str, connection, log: Path, **env) -> list[str]:
    """A job with work to do (one expired lock) and one without, run by a burst worker."""
    queue = Queue("default", connection=connection)
    queue.enqueue(clean_expired_locks)
    queue.enqueue(assign_orphan_conversations)
    worker = start(["--burst"], log, REDIS_URL=url, **env)
    try:
        assert worker.wait(timeout=60) == 0
    finally:
        stop(worker)
    return log.read_text().splitlines()


def test_a_job_that_did_something_logs_one_line_saying_what(ctx, own_redis):
    url, connection = own_redis
    expired_lock()
    lines = run_burst(url, connection, log_file("burst-worker.log"))
    (said,) = [line for line in lines if "clean_expired_locks" in line]
    assert said.endswith(" INFO switchboard.jobs: clean_expired_locks: 1 expired lock(s) removed")
    assert not [line for line in lines if "assign_orphan_conversations" in line]
    assert not [line for line in lines if any(word in line for word in RQ_DETAIL)]


def test_at_debug_the_worker_logs_rqs_detail_too(ctx, own_redis):
    url, connection = own_redis
    expired_lock()
    lines = run_burst(url, connection, log_file("debug-worker.log"), WORKER_LOG_LEVEL="DEBUG")
    assert len([line for line in lines if "Job OK" in line]) == 2
    assert len([line for line in lines if "Successfully completed" in line]) == 2
    said = "switchboard.jobs: clean_expired_locks: 1 expired lock(s) removed"
    assert len([line for line in lines if said in line]) == 1
