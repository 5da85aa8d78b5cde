"""The operations page over HTTP: admins see the queues, workers, periodic and failed jobs, retry
and delete failed ones; anyone else is refused; a wrong job id is a clear 404 or 409 page.
``/health/live`` and ``/health/ready`` answer machines without a login."""
import pytest
from rq import SimpleWorker

from app.jobs import get_queue
from app.models import Role
from app.redis_client import get_redis
from tests.support.context import app_context
from tests.support.factories import make_user
from tests.support.http import login
from tests.support.jobs import PRIVATE_QUEUES, failed_job, succeed

QUEUE = PRIVATE_QUEUES[1]  # failed_job's
pytestmark = pytest.mark.usefixtures("private_queues")


def as_admin(app):
    admin = make_user(Role.ADMIN)
    client = app.test_client()
    return client, login(client, admin.email)


def test_an_admin_sees_a_failed_job_and_retries_it(app):
    job = failed_job("smtp <down>")
    client, csrf = as_admin(app)
    page = client.get("/admin/operations")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert QUEUE in html and "failing: smtp &lt;down&gt;" in html and "RuntimeError: smtp &lt;down&gt;" in html
    assert 'hx-get="/admin/operations/live"' in html  # the live part asks for itself again
    assert "The scheduler is not running" in html  # none runs here (the tests' worker may)
    live = client.get("/admin/operations/live")
    assert live.status_code == 200 and "<html" not in live.get_data(as_text=True)

    detail = client.get(f"/admin/operations/jobs/{job.id}")
    assert detail.status_code == 200 and "Traceback" in detail.get_data(as_text=True)

    retried = client.post(f"/admin/operations/jobs/{job.id}/retry", data={"csrf_token": csrf}, follow_redirects=True)
    assert retried.status_code == 200 and "The job is back on its queue." in retried.get_data(as_text=True)
    with app_context():
        assert job.get_status(refresh=True) == "queued"

    again = client.post(f"/admin/operations/jobs/{job.id}/retry", data={"csrf_token": csrf})
    assert again.status_code == 409 and "This job has not failed" in again.get_data(as_text=True)


def test_delete_retry_all_and_ids_that_name_nothing(app):
    jobs = [failed_job(f"n{i}") for i in range(3)]
    client, csrf = as_admin(app)
    deleted = client.post(f"/admin/operations/jobs/{jobs[0].id}/delete", data={"csrf_token": csrf, "back": "failed"},
                          follow_redirects=True)
    assert deleted.status_code == 200 and "The failed job was deleted." in deleted.get_data(as_text=True)
    every = client.post("/admin/operations/failed/retry", data={"csrf_token": csrf}, follow_redirects=True)
    assert "2 failed jobs are back on their queues." in every.get_data(as_text=True)
    for path in ("/admin/operations/jobs/no-such-job", "/admin/operations/jobs/%2E%2E"):
        assert client.get(path).status_code == 404
    assert client.post("/admin/operations/jobs/no-such-job/delete", data={"csrf_token": csrf}).status_code == 404
    assert client.get("/admin/operations/failed?page=abc").status_code == 400
    assert client.get("/admin/operations/failed?page=99").status_code == 200


def test_nobody_else_reaches_the_operations_page(app):
    job = failed_job("private")
    for role in (Role.CLIENT, Role.MODERATOR):
        client = app.test_client()
        csrf = login(client, make_user(role).email)
        assert client.get("/admin/operations").status_code in (302, 403)
        assert client.post(f"/admin/operations/jobs/{job.id}/delete", data={"csrf_token": csrf}).status_code in (302, 403)
    assert app.test_client().get("/admin/operations").status_code == 302  # to the login page
    with app_context():
        assert job.get_status(refresh=True) == "failed"


def test_health_answers_without_a_login(app):
    client = app.test_client()
    live = client.get("/health/live")
    assert live.status_code == 200 and live.json == {"status": "ok"}
    ready = client.get("/health/ready")  # no scheduler runs here
    assert ready.status_code == 503 and ready.json["status"] == "failing"
    assert ready.json["checks"]["database"]["ok"] and ready.json["checks"]["redis"]["ok"]
    assert not ready.json["checks"]["scheduler"]["ok"] and ready.json["checks"]["scheduler"]["detail"] == "no scheduler"


def test_a_finished_job_shows_its_state_and_no_retry(app):
    with app_context():
        job = get_queue(QUEUE).enqueue(succeed, 5)
        SimpleWorker([get_queue(QUEUE)], connection=get_redis()).work(burst=True)
    client, _ = as_admin(app)
    html = client.get(f"/admin/operations/jobs/{job.id}").get_data(as_text=True)
    assert "finished" in html and "/retry" not in html
