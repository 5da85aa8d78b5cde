"""Failed jobs as admins handle them (listed newest first with their error, retried, deleted) and
the deployment's readiness (database, Redis, a worker's heartbeat, the scheduler's key)."""
import os
import time

import pytest
import redis
from rq import SimpleWorker, Worker
from rq_scheduler import Scheduler

from app.jobs import enqueue_email_once, get_queue
from app.models import Role
from app.redis_client import get_redis
from app.services import health, operations
from app.services.errors import Forbidden, NotFound
from tests.support.factories import make_user
from tests.support.jobs import PRIVATE_QUEUES, empty_queues, failed_job, redis_url_of_database, succeed

QUEUES = PRIVATE_QUEUES  # the tests' shared worker takes none of these jobs
OWN_DATABASE = 8  # no other test uses it


@pytest.fixture(autouse=True)
def emptied(ctx):
    yield
    empty_queues(QUEUES)


def run_all(queue_name="sb-test-later"):
    """RQ's own in-process worker runs what is queued, once (failures land in the failed registry)."""
    SimpleWorker([get_queue(queue_name)], connection=get_redis()).work(burst=True)




def test_failed_jobs_are_listed_newest_first_with_their_error(ctx):
    first = failed_job("disk full")
    time.sleep(0.01)
    second = failed_job("smtp down", "sb-test-urgent")
    rows, total = operations.failed_jobs(None, get_redis(), QUEUES, 1, 10)
    assert total == 2
    assert [r.id for r in rows] == [second.id, first.id]
    assert rows[0].error == "RuntimeError: smtp down" and rows[0].queue == "sb-test-urgent"
    assert rows[1].description == "failing: disk full"
    assert operations.failed_jobs(None, get_redis(), QUEUES, 2, 1)[0][0].id == first.id  # pages


def test_a_retried_job_goes_back_on_its_queue_and_runs_again(ctx):
    job = failed_job("once")
    operations.retry(None, get_redis(), job.id)
    assert operations.failed_jobs(None, get_redis(), QUEUES, 1, 10)[1] == 0
    assert get_queue("sb-test-later").count == 1 and job.get_status(refresh=True) == "queued"


def test_retry_all_and_delete(ctx):
    jobs = [failed_job(f"n{i}") for i in range(3)]
    operations.delete(None, get_redis(), jobs[0].id)
    assert not get_redis().exists(jobs[0].key)  # its data is gone too
    assert operations.retry_all(None, get_redis(), QUEUES) == 2
    assert get_queue("sb-test-later").count == 2


def test_only_failed_jobs_are_retried_or_deleted_and_unknown_ids_are_not_found(ctx):
    done = get_queue("sb-test-later").enqueue(succeed, 1)
    run_all()
    with pytest.raises(operations.NotFailed) as refused:
        operations.retry(None, get_redis(), done.id)
    assert refused.value.status_code == 409
    with pytest.raises(operations.NotFailed):
        operations.delete(None, get_redis(), done.id)
    assert done.get_status(refresh=True) == "finished"  # untouched
    for unknown in ("no-such-job", "../x", "a" * 300):
        with pytest.raises(NotFound):
            operations.retry(None, get_redis(), unknown)
        with pytest.raises(NotFound):
            operations.job_detail(None, get_redis(), unknown)


def test_only_admins_see_or_touch_jobs(ctx):
    job = failed_job("private")
    for role in (Role.CLIENT, Role.MODERATOR):
        someone = make_user(role)
        for call in (lambda: operations.failed_jobs(someone, get_redis(), QUEUES, 1, 10),
                     lambda: operations.retry(someone, get_redis(), job.id),
                     lambda: operations.delete(someone, get_redis(), job.id),
                     lambda: operations.job_detail(someone, get_redis(), job.id)):
            with pytest.raises(Forbidden):
                call()
    assert job.get_status(refresh=True) == "failed"
    admin = make_user(Role.ADMIN)
    assert operations.job_detail(admin, get_redis(), job.id).traceback.strip().endswith("RuntimeError: private")


def test_a_mail_jobs_detail_hides_its_text(ctx):
    job = enqueue_email_once("k", "ada@example.test", "Your link", "https://example.test/reset/SECRET", None)
    detail = operations.job_detail(None, get_redis(), job.id)
    assert "ada@example.test" in detail.arguments and "SECRET" not in detail.arguments
    assert detail.attempts == 6


def test_ready_needs_a_worker_heartbeat_and_a_live_scheduler(ctx):
    """On a Redis database of its own: the tests' shared worker is registered in theirs."""
    r = redis.Redis.from_url(redis_url_of_database(os.environ["REDIS_URL"], OWN_DATABASE))
    r.flushdb()
    report = health.readiness(r, worker_stale_after=480)
    checks = {c.name: c for c in report.checks}
    assert checks["database"].ok and checks["redis"].ok
    assert not checks["worker"].ok and not checks["scheduler"].ok and not report.ok

    worker = Worker([get_queue("default")], connection=r, name=f"ready-{time.time_ns()}")
    worker.register_birth()
    scheduler = Scheduler(connection=r, interval=5)
    scheduler.register_birth()
    try:
        assert health.readiness(r, worker_stale_after=480).ok
        assert not health.readiness(r, worker_stale_after=480, now=time.time() + 600).ok  # its heartbeat is old
        scheduler.register_death()
        assert {c.name for c in health.readiness(r, 480).checks if not c.ok} == {"scheduler"}
    finally:
        r.flushdb()
