"""The moderator page's heartbeat and goodbye beacon over HTTP: CSRF, role guard, bad requests,
and the grace that keeps a reload online (the delayed check runs in the real worker)."""
import time

import pytest

from app.extensions import db
from app.models import Role, User
from app.services import moderator_queue
from tests.support.context import app_context
from tests.support.factories import make_user
from tests.support.http import login
from tests.support.waiting import wait_until


def state(user_id: int) -> User:
    with app_context():
        db.session.expire_all()
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def test_heartbeat_puts_the_moderator_online_and_in_the_queue(app):
    moderator = make_user(Role.MODERATOR)
    client = app.test_client()
    csrf = login(client, moderator.email)
    assert state(moderator.id).is_online is False
    response = client.post("/moderateur/heartbeat", headers={"X-CSRFToken": csrf})
    assert response.status_code == 204 and response.get_data() == b""
    after = state(moderator.id)
    assert after.is_online and after.last_heartbeat_at is not None and after.last_online_at is not None
    with app_context():
        assert moderator_queue.queued_moderator_ids() == [moderator.id]
    again = client.post("/moderateur/heartbeat", headers={"X-CSRFToken": csrf})
    assert again.status_code == 204 and state(moderator.id).last_online_at == after.last_online_at


@pytest.mark.parametrize("path", ["/moderateur/heartbeat", "/moderateur/offline"])
def test_guards_and_bad_requests_are_4xx(app, path):
    moderator_client = app.test_client()
    csrf = login(moderator_client, make_user(Role.MODERATOR).email)
    assert moderator_client.post(path).status_code == 400                                  # no CSRF token
    assert moderator_client.post(path, data={"csrf_token": "forged"}).status_code == 400
    assert moderator_client.post(path, headers={"X-CSRFToken": csrf[:-4] + "abcd"}).status_code == 400
    assert moderator_client.get(path).status_code == 405
    assert moderator_client.post(path, data=b"\x00\xff" * 100, headers={"X-CSRFToken": csrf},
                                 content_type="application/octet-stream").status_code in (204, 400)
    for role in (Role.CLIENT, Role.ADMIN):
        other = app.test_client()
        other_csrf = login(other, make_user(role).email)
        assert other.post(path, headers={"X-CSRFToken": other_csrf}).status_code == 403
    anonymous = app.test_client()
    assert anonymous.post(path).status_code in (302, 400, 401)


def test_the_beacon_marks_offline_after_the_grace_unless_the_page_comes_back(app, rq_worker, monkeypatch):
    monkeypatch.setitem(app.config, "PRESENCE_GRACE_SECONDS", 1)
    moderator = make_user(Role.MODERATOR)
    page = app.test_client()
    csrf = login(page, moderator.email)
    assert page.post("/moderateur/heartbeat", headers={"X-CSRFToken": csrf}).status_code == 204

    # A reload: the old page says goodbye (CSRF token in the form body, as sendBeacon sends it),
    # the new page's heartbeat comes at once.
    assert page.post("/moderateur/offline", data={"csrf_token": csrf}).status_code == 204
    assert page.post("/moderateur/heartbeat", headers={"X-CSRFToken": csrf}).status_code == 204
    time.sleep(3)                                     # the grace is over and its check has run
    assert state(moderator.id).is_online

    # Closing the page for good: offline within seconds.
    assert page.post("/moderateur/offline", data={"csrf_token": csrf}).status_code == 204
    assert state(moderator.id).is_online              # not at once
    wait_until(lambda: not state(moderator.id).is_online, timeout=10)
    with app_context():
        assert moderator_queue.queued_moderator_ids() == []


def test_the_mail_link_leads_to_the_workspace_after_login(app):
    from app.jobs.context import job_context
    from app.jobs.rounds import workspace_login_url

    with job_context():
        link = workspace_login_url()
    path = link[len(app.config["PUBLIC_URL"].rstrip("/")):]
    assert path == "/login?next=/moderateur/"
    moderator = make_user(Role.MODERATOR)
    browser = app.test_client()
    page = browser.get(path)
    assert page.status_code == 200
    from tests.support.factories import PASSWORD
    from tests.support.http import csrf_from

    response = browser.post(path, data={"email": moderator.email, "password": PASSWORD,
                                        "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 302 and response.headers["Location"] == "/moderateur/"
    assert browser.get(path).headers["Location"] == "/moderateur/"      # already logged in: straight there
