"""The real worker records how each job ended (done, failed and retried, failed for good) with
its wait and run times, and tells admins of a job that failed for good, however it failed: an
exception after its last retry, or its process killed; an attempt still to be retried tells nobody."""
import time

from rq import Retry

from app.extensions import db
from app.jobs import get_queue
from app.models import Notification, Role
from app.redis_client import get_redis, names
from app.services import job_metrics
from tests.support.factories import make_user
from tests.support.jobs import die, fail, take_time
from tests.support.waiting import wait_until


def figures(ctx, queue):
    return job_metrics.figures(get_redis(), names(), job_metrics.Settings.from_config(ctx.config), queue,
                               time.time(), None)


def alerts():
    db.session.rollback()  # a new snapshot (SQLite's would stay at the read transaction's start)
    return db.session.scalars(db.select(Notification).where(Notification.kind == "job_failed")
                              .order_by(Notification.user_id)).all()


def test_each_end_is_recorded_and_admins_hear_once_of_a_job_that_failed_for_good(ctx, rq_worker):
    admins = [make_user(Role.ADMIN), make_user(Role.ADMIN)]
    done = get_queue("default").enqueue(take_time, 0.3)
    failing = get_queue("low").enqueue(fail, "disk full", retry=Retry(max=1), description="failing twice")
    wait_until(lambda: done.get_status(refresh=True) == "finished" and failing.get_status(refresh=True) == "failed",
               timeout=30)
    wait_until(lambda: figures(ctx, "low").failed == 1 and len(alerts()) == 2, timeout=10)

    # (a job of an earlier test still running when this one began may end in these minutes too)
    (timing,) = [t for t in job_metrics.recent(get_redis(), names(), "default", 0) if t.job_id == done.id]
    assert timing.outcome == "ok" and timing.run >= 0.3 and timing.wait is not None
    assert [t.outcome for t in job_metrics.recent(get_redis(), names(), "low", 0)
            if t.job_id == failing.id] == ["retried", "failed"]
    low = figures(ctx, "low")
    assert (low.retried, low.failed) == (1, 1) and "failures" in low.alerts

    told = alerts()
    assert [(n.user_id, n.count) for n in told] == [(a.id, 1) for a in admins]  # the retried attempt told nobody
    assert told[0].params["error"] == "RuntimeError: disk full" and told[0].params["job"] == "failing twice"
    assert told[0].link == "/admin/operations"


def test_a_job_whose_process_was_killed_fails_for_good_and_admins_hear_of_it(ctx, rq_worker):
    admin = make_user(Role.ADMIN)
    job = get_queue("high").enqueue(die, description="killed mid-job")
    wait_until(lambda: job.get_status(refresh=True) == "failed", timeout=30)
    wait_until(lambda: len(alerts()) == 1, timeout=5)
    told = alerts()[0]
    assert told.user_id == admin.id and "terminated" in told.params["error"]
    assert figures(ctx, "high").failed == 1
