"""A job whose worker was killed mid-run (SIGKILL, the machine going away) stays "started" in
RQ; a worker's maintenance finds it once its heartbeat has lapsed and runs it again when it has
retries left. bench/faults.py --scenarios worker-kill --worker-kill all shows it end to end."""
import time

from rq.job import JobStatus

from app.clock import utcnow
from app.jobs import get_queue
from app.jobs.presence import schedule_offline_check
from app.models import Role
from app.redis_client import get_redis
from tests.support.factories import make_user
from worker import build_worker


def test_an_offline_check_whose_worker_died_mid_run_is_run_again(app):
    user = make_user(Role.MODERATOR)
    with app.app_context():
        job = schedule_offline_check(user.id, utcnow())
        worker = build_worker(get_redis(), app)
        worker.prepare_execution(job)  # taken by this worker and started in its work horse,
        worker.prepare_job_execution(job)  # which are then killed before the job finishes
        assert job.get_status(refresh=True) == JobStatus.STARTED

        queue = get_queue("high")
        queue.started_job_registry.cleanup(timestamp=time.time() + 3600)  # its heartbeat long gone

        assert job.id not in queue.failed_job_registry.get_job_ids()
        assert job.get_status(refresh=True) in (JobStatus.SCHEDULED, JobStatus.QUEUED)
        job.refresh()
        assert job.retries_left == 1


def test_workers_look_for_abandoned_jobs_as_often_as_configured(app):
    with app.app_context():
        worker = build_worker(get_redis(), app)
    assert worker.maintenance_interval == app.config["WORKER_MAINTENANCE_SECONDS"] == 60
