"""The notification centre over HTTP: the bell on every page, the panel and the page (newest
first, paged), marking read and deleting (each answer carries the new count), another user's
notification ids as 404, bad ids as 4xx, HTML in a notification's text shown as text."""
import re
from datetime import datetime, timedelta

import pytest

from app.database import write_transaction
from app.extensions import db
from app.models import Notification, Role
from app.services import notifications
from tests.support.context import app_context
from tests.support.factories import make_user
from tests.support.http import csrf_from, login

HX = {"HX-Request": "true"}
NOW = datetime(2026, 12, 6, 12, 0, 0)


def notify(user, key, subject="Broken upload", minutes=0):
    with app_context():
        with write_transaction():
            row = notifications.notify(user.id, "ticket", key, now=NOW + timedelta(minutes=minutes),
                                       params={"ticket_id": int(key.split(":")[1]), "subject": subject,
                                               "action": "commented"}, link="/support")
        return row.id


def badge(html: str) -> str | None:
    found = re.search(r'<span id="notif-count"[^>]*>([^<]*)</span>', html)
    return found.group(1) if found else None


@pytest.fixture
def alice(app):
    user = make_user(email="alice@example.test")
    http = app.test_client()
    csrf = login(http, user.email)
    return user, http, csrf


def test_the_bell_shows_the_unread_count_on_every_page(alice):
    user, http, _ = alice
    assert badge(http.get("/profiles").get_data(as_text=True)) == "0"
    notify(user, "ticket:1")
    notify(user, "ticket:2")
    page = http.get("/profiles").get_data(as_text=True)
    assert badge(page) == "2" and 'id="notif-panel"' in page
    assert badge(http.get("/notifications/badge").get_data(as_text=True)) == "2"


def test_panel_and_page_list_newest_first_with_the_text_escaped(alice):
    user, http, _ = alice
    notify(user, "ticket:1", subject="first")
    notify(user, "ticket:2", subject="<b>second</b>", minutes=1)
    panel = http.get("/notifications/panel", headers=HX).get_data(as_text=True)
    assert panel.index("second") < panel.index("first")
    assert "&lt;b&gt;second&lt;/b&gt;" in panel and "<b>second</b>" not in panel
    assert "Ticket #2" in panel and "new comment" in panel
    page = http.get("/notifications").get_data(as_text=True)
    assert page.index("second") < page.index("first")


def test_the_page_is_paged(alice, app):
    user, http, _ = alice
    app.config["NOTIFICATIONS_PAGE_SIZE"] = 2
    try:
        for i in range(3):
            notify(user, f"ticket:{i + 1}", subject=f"subject-{i + 1}", minutes=i)
        first = http.get("/notifications").get_data(as_text=True)
        assert "subject-3" in first and "subject-2" in first and "subject-1" not in first and "page=2" in first
        second = http.get("/notifications?page=2").get_data(as_text=True)
        assert "subject-1" in second and "subject-3" not in second
        assert http.get("/notifications?page=abc").status_code == 400
    finally:
        app.config["NOTIFICATIONS_PAGE_SIZE"] = 20


def test_marking_read_and_deleting_answer_with_the_list_and_the_new_count(alice):
    user, http, csrf = alice
    one, two = notify(user, "ticket:1"), notify(user, "ticket:2")
    headers = {**HX, "X-CSRFToken": csrf}
    answer = http.post(f"/notifications/{one}/read", data={"where": "panel"}, headers=headers)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert 'id="notif-panel-body"' in html and 'hx-swap-oob="true"' in html and badge(html) == "1"
    html = http.post("/notifications/read-all", data={"where": "page"}, headers=headers).get_data(as_text=True)
    assert 'id="notif-page-list"' in html and badge(html) == "0"
    html = http.post(f"/notifications/{two}/delete", data={"where": "page"}, headers=headers).get_data(as_text=True)
    assert "Ticket #2" not in html
    http.post("/notifications/delete-read", data={"where": "page"}, headers=headers)
    with app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Notification)) == 0


def test_opening_one_reads_it_and_goes_where_it_points(alice):
    user, http, csrf = alice
    one = notify(user, "ticket:1")
    answer = http.post(f"/notifications/{one}/open", data={"csrf_token": csrf})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/support")
    assert badge(http.get("/notifications/badge").get_data(as_text=True)) == "0"


def test_another_users_notification_is_not_found_and_stays_as_it_was(alice, app):
    _, http, csrf = alice
    bob = make_user(email="bob@example.test", locale="fr")
    theirs = notify(bob, "ticket:7")
    headers = {**HX, "X-CSRFToken": csrf}
    for url in (f"/notifications/{theirs}/read", f"/notifications/{theirs}/delete", f"/notifications/{theirs}/open"):
        answer = http.post(url, headers=headers)
        assert answer.status_code == 404, url
        assert "No such notification." in answer.get_data(as_text=True)
    with app_context():
        row = db.session.get(Notification, theirs)
        assert row is not None and row.read_at is None
    assert http.post("/notifications/99999999999/read", headers=headers).status_code == 404  # past any id
    # in the user's language: Bob's own page speaks French
    bob_http = app.test_client()
    login(bob_http, bob.email)
    answer = bob_http.post("/notifications/123456/read", headers={**HX, "X-CSRFToken": csrf_from(
        bob_http.get("/profiles").get_data(as_text=True))})
    assert answer.status_code == 404 and "No such notification." not in answer.get_data(as_text=True)


def test_without_csrf_or_logged_out_nothing_changes(alice, app):
    user, http, _ = alice
    one = notify(user, "ticket:1")
    assert http.post(f"/notifications/{one}/read", headers=HX).status_code == 400
    anonymous = app.test_client()
    assert anonymous.get("/notifications/panel").status_code in (302, 401)
    with app_context():
        assert db.session.get(Notification, one).read_at is None


def test_every_role_has_the_bell(app):
    for role, home in ((Role.MODERATOR, "/moderateur/"), (Role.ADMIN, "/admin/")):
        user = make_user(role)
        http = app.test_client()
        login(http, user.email)
        notify(user, "ticket:3")
        assert badge(http.get(home).get_data(as_text=True)) == "1", role
