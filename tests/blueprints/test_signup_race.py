"""Ten sign-ups with one e-mail at the same instant, on a real server with several worker
processes: one account, nine times the usual "e-mail taken" form error, never a 500 (the unique
index refused the later inserts after each had found the address free)."""
from __future__ import annotations

import threading

import pytest

from app.models import User
from tests.support.factories import count
from tests.support.http import LiveSession, csrf_from
from tests.support.processes import WebServer

SIGNUPS = 10


@pytest.fixture
def busy_web_server(app):
    server = WebServer(workers=4).start()
    yield server
    server.stop()


@pytest.mark.slow
def test_simultaneous_signups_with_one_email_make_one_account_and_form_errors(busy_web_server):
    visitors = []
    for _ in range(SIGNUPS):
        visitor = LiveSession(busy_web_server.url)
        visitors.append((visitor, csrf_from(visitor.get("/signup").text)))
    start = threading.Barrier(SIGNUPS)
    answers: list = [None] * SIGNUPS

    def sign_up(n, visitor, csrf):
        start.wait()
        answers[n] = visitor.post("/signup", data={"display_name": f"Twin {n}", "email": "twin@example.test",
                                                   "password": "long-enough-1", "locale": "en", "csrf_token": csrf},
                                  headers={"Accept-Language": "en"})

    threads = [threading.Thread(target=sign_up, args=(n, *v)) for n, v in enumerate(visitors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [302] + [422] * (SIGNUPS - 1), statuses
    assert all("An account already uses this e-mail address." in a.text for a in answers if a.status_code == 422)
    assert count(User, email="twin@example.test") == 1


@pytest.mark.slow
def test_simultaneous_admin_creations_of_one_account_make_one_and_form_errors(busy_web_server):
    """The admin's "create an account" at the same instant from several pages: one account."""
    from app.models import Role
    from tests.support.factories import make_user
    from tests.support.http import login

    admin = make_user(Role.ADMIN)
    pages = []
    for _ in range(SIGNUPS):
        page = LiveSession(busy_web_server.url)
        pages.append((page, login(page, admin.email)))
    start = threading.Barrier(SIGNUPS)
    answers: list = [None] * SIGNUPS

    def create(n, page, csrf):
        start.wait()
        answers[n] = page.post("/admin/users", data={"display_name": f"Twin {n}", "email": "staff@example.test",
                                                     "password": "long-enough-1", "role": "moderator", "locale": "en",
                                                     "csrf_token": csrf}, headers={"Accept-Language": "en"})

    threads = [threading.Thread(target=create, args=(n, *p)) for n, p in enumerate(pages)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [302] + [422] * (SIGNUPS - 1), statuses
    assert count(User, email="staff@example.test") == 1
