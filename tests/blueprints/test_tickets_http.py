"""Support tickets over HTTP: the opener's pages and forms, the admins' queue (filters, bad ones
falling back) and ticket page, another user's ticket not found, bad input as a clear 4xx in the
user's language, CSRF on every form, text escaped."""
import re

import pytest

from app.extensions import db
from app.models import Role, Ticket, TicketComment, TicketEvent
from tests.support import context
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user
from tests.support.http import login, send


@pytest.fixture
def people(app):
    """A French client with a conversation, another client, a moderator, an admin: logged-in browsers."""
    client = make_user(email="c@example.com", locale="fr", display_name="Chloé")
    other = make_user(email="o@example.com")
    moderator = make_user(Role.MODERATOR, email="m@example.com")
    admin = make_user(Role.ADMIN, email="a@example.com", display_name="Ada")
    browsers = {}
    for name, user in (("client", client), ("other", other), ("moderator", moderator), ("admin", admin)):
        http = app.test_client()
        browsers[name] = (http, login(http, user.email))
    assert send(*browsers["client"], make_profile("Hanna").id, "hello").status_code == 200
    return browsers, {"client": client, "other": other, "moderator": moderator, "admin": admin}


def post(browser, url, data):
    http, csrf = browser
    return http.post(url, data={"csrf_token": csrf, **data})


def open_ticket(browser, **fields):
    data = {"kind": "problem", "subject": "Cannot upload", "body": "The photo never arrives", **fields}
    response = post(browser, "/support/new", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/support/(\d+)$", response.headers["Location"]).group(1))


def test_a_client_opens_a_ticket_and_follows_it(people):
    browsers, users = people
    http, _ = browsers["client"]
    listing = http.get("/support").get_data(as_text=True)
    assert 'href="/support/new"' in listing and 'href="/support"' in listing  # the nav link too
    form = http.get("/support/new?kind=conversation").get_data(as_text=True)
    assert 'name="csrf_token"' in form and "Hanna" in form  # the client's conversation to choose
    assert re.search(r'<option value="conversation" selected>', form)
    ticket_id = open_ticket(browsers["client"], subject="<b>Bold</b>", body="<script>alert(1)</script>")
    page = http.get(f"/support/{ticket_id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "&lt;b&gt;Bold&lt;/b&gt;" in page and "Ouvert" in page  # in French
    assert f'action="/support/{ticket_id}/comments"' in page and f'action="/support/{ticket_id}/close"' in page
    assert "&lt;b&gt;Bold&lt;/b&gt;" in http.get("/support").get_data(as_text=True)
    commented = post(browsers["client"], f"/support/{ticket_id}/comments", {"body": "More details"})
    assert commented.status_code == 302
    assert "More details" in http.get(f"/support/{ticket_id}").get_data(as_text=True)
    closed = post(browsers["client"], f"/support/{ticket_id}/close", {})
    assert closed.status_code == 302
    page = http.get(f"/support/{ticket_id}").get_data(as_text=True)
    assert f'action="/support/{ticket_id}/comments"' not in page and f'action="/support/{ticket_id}/close"' not in page
    with app_context():
        ticket = db.session.get(Ticket, ticket_id)
        assert (ticket.opener_id, ticket.state, ticket.subject) == (users["client"].id, "closed", "<b>Bold</b>")
        assert [e.action for e in db.session.query(TicketEvent).order_by(TicketEvent.id)] == [
            "created", "commented", "status"]


def test_a_moderator_opens_a_ticket_about_a_conversation_they_hold_only(people):
    browsers, _ = people
    with app_context():
        from app.models import Conversation
        conversation_id = db.session.scalars(db.select(Conversation.id)).one()
    refused = post(browsers["moderator"], "/support/new",
                   {"kind": "conversation", "subject": "s", "body": "b", "conversation_id": str(conversation_id)})
    assert refused.status_code == 404  # not theirs: as if it did not exist
    assert browsers["moderator"][0].get("/support").status_code == 200
    ticket_id = open_ticket(browsers["moderator"])
    assert browsers["moderator"][0].get(f"/support/{ticket_id}").status_code == 200


def test_another_users_ticket_is_not_found(people):
    browsers, _ = people
    ticket_id = open_ticket(browsers["client"])
    other, csrf = browsers["other"]
    assert other.get(f"/support/{ticket_id}").status_code == 404
    assert post(browsers["other"], f"/support/{ticket_id}/comments", {"body": "hi"}).status_code == 404
    assert post(browsers["other"], f"/support/{ticket_id}/close", {}).status_code == 404
    assert other.get("/support/99999").status_code == 404
    assert other.get(f"/support/{2**31}").status_code == 404
    assert browsers["client"][0].get("/admin/tickets").status_code in (302, 403)
    assert browsers["client"][0].get(f"/admin/tickets/{ticket_id}").status_code in (302, 403)
    assert browsers["admin"][0].get("/support").status_code == 403
    with app_context():
        assert db.session.get(Ticket, ticket_id).state == "open"
        assert db.session.query(TicketComment).count() == 0


def in_french(message: str) -> str:
    """``message`` as the French catalogue has it, escaped as a page shows it."""
    from flask_babel import force_locale, gettext
    from markupsafe import escape

    with context.TEST_APP.test_request_context(), force_locale("fr"):
        return str(escape(gettext(message)))


def test_bad_input_gets_a_clear_4xx_in_the_users_language_and_keeps_what_was_typed(people):
    browsers, _ = people
    client = browsers["client"]
    empty = post(client, "/support/new", {"kind": "problem", "subject": " ", "body": "kept text"})
    text = empty.get_data(as_text=True)
    assert empty.status_code == 422 and in_french("Write a subject.") in text and "kept text" in text
    assert '<html lang="fr">' in text and 'name="subject"' in text
    unknown = post(client, "/support/new", {"kind": "bug", "subject": "s", "body": "b"})
    assert unknown.status_code == 422
    missing = post(client, "/support/new", {"kind": "conversation", "subject": "s", "body": "b"})
    assert missing.status_code == 422 and "conversation" in missing.get_data(as_text=True)
    long = post(client, "/support/new", {"kind": "problem", "subject": "s", "body": "x" * 5001})
    assert long.status_code == 422 and "5000" in long.get_data(as_text=True)
    huge = post(client, "/support/new", {"kind": "problem", "subject": "s", "body": "x" * (10 * 1024 * 1024)})
    assert huge.status_code == 413 and in_french("The upload is too large.") in huge.get_data(as_text=True)
    assert post(client, "/support/new", {"kind": "problem", "subject": "s", "body": "b",
                                         "conversation_id": "abc"}).status_code == 400
    ticket_id = open_ticket(client)
    blank = post(client, f"/support/{ticket_id}/comments", {"body": "   "})
    assert blank.status_code == 422 and in_french("Write a comment.") in blank.get_data(as_text=True)
    http, _ = client
    no_csrf = http.post("/support/new", data={"kind": "problem", "subject": "s", "body": "b"})
    assert no_csrf.status_code == 400
    assert http.post(f"/support/{ticket_id}/close").status_code == 400
    with app_context():
        assert db.session.query(Ticket).count() == 1
        assert db.session.query(TicketComment).count() == 0


def test_the_admin_answers_notes_assigns_and_moves_the_ticket(people):
    browsers, users = people
    ticket_id = open_ticket(browsers["client"])
    admin = browsers["admin"]
    http, _ = admin
    queue = http.get("/admin/tickets").get_data(as_text=True)
    assert f'data-ticket-id="{ticket_id}"' in queue and 'href="/admin/tickets"' in queue
    page = http.get(f"/admin/tickets/{ticket_id}").get_data(as_text=True)
    assert page.count('name="csrf_token"') >= 4 and 'name="internal"' in page
    assert post(admin, f"/admin/tickets/{ticket_id}/comments", {"body": "Try again please"}).status_code == 302
    assert post(admin, f"/admin/tickets/{ticket_id}/comments",
                {"body": "Looks like a spammer", "internal": "1"}).status_code == 302
    assert post(admin, f"/admin/tickets/{ticket_id}/assign", {"assignee": str(users["admin"].id)}).status_code == 302
    assert post(admin, f"/admin/tickets/{ticket_id}/priority", {"priority": "urgent"}).status_code == 302
    assert post(admin, f"/admin/tickets/{ticket_id}/status", {"state": "waiting"}).status_code == 302
    page = http.get(f"/admin/tickets/{ticket_id}").get_data(as_text=True)
    assert "Looks like a spammer" in page and "Try again please" in page and "Urgent" in page
    mine = browsers["client"][0].get(f"/support/{ticket_id}").get_data(as_text=True)
    assert "Try again please" in mine and "Looks like a spammer" not in mine
    assert "Urgent" not in mine and "Ada" in mine
    # a move the table refuses, an unknown state or priority, a non-admin assignee
    assert post(admin, f"/admin/tickets/{ticket_id}/status", {"state": "waiting"}).status_code == 409
    assert post(admin, f"/admin/tickets/{ticket_id}/status", {"state": "lost"}).status_code == 422
    assert post(admin, f"/admin/tickets/{ticket_id}/priority", {"priority": "asap"}).status_code == 422
    refused = post(admin, f"/admin/tickets/{ticket_id}/assign", {"assignee": str(users["client"].id)})
    assert refused.status_code == 422 and "active admins" in refused.get_data(as_text=True)
    assert post(admin, f"/admin/tickets/{ticket_id}/assign", {"assignee": "x"}).status_code == 400
    assert post(admin, "/admin/tickets/99999/status", {"state": "open"}).status_code == 404
    # the opener's answer puts it back to open
    post(browsers["client"], f"/support/{ticket_id}/comments", {"body": "Done, still broken"})
    with app_context():
        ticket = db.session.get(Ticket, ticket_id)
        assert (ticket.state, ticket.priority, ticket.assignee_id) == ("open", "urgent", users["admin"].id)


def test_the_queue_filters_and_falls_back_on_bad_parameters(people):
    browsers, users = people
    problem = open_ticket(browsers["client"], subject="First problem")
    appeal = open_ticket(browsers["client"], kind="appeal", subject="Unban me")
    post(browsers["admin"], f"/admin/tickets/{problem}/assign", {"assignee": "me"})
    http, _ = browsers["admin"]

    def listed(query):
        response = http.get("/admin/tickets" + query)
        assert response.status_code == 200
        return [int(i) for i in re.findall(r'data-ticket-id="(\d+)"', response.get_data(as_text=True))]

    assert listed("") == [problem, appeal]
    assert listed("?kind=appeal") == [appeal]
    assert listed("?assignee=me") == [problem]
    assert listed("?assignee=nobody") == [appeal]
    assert listed(f"?assignee={users['admin'].id}") == [problem]
    assert listed("?order=oldest") == [problem, appeal]
    assert listed("?state=closed") == []
    assert listed("?older_than=168") == []
    for bad in ("?state=x&kind=y&assignee=z&order=w&older_than=-1&page=abc", "?page=99999999999999",
                "?older_than=1e99", "?assignee=%00"):
        response = http.get("/admin/tickets" + bad)
        assert response.status_code in (200, 400), bad
        if response.status_code == 200:
            assert len(re.findall(r'data-ticket-id="', response.get_data(as_text=True))) == 2


def test_opening_tickets_is_limited_per_account_and_refused_forms_do_not_count(app):
    from app import create_app
    from app.config import TestConfig

    class LimitedConfig(TestConfig):
        RATELIMIT_ENABLED = True
        RATELIMIT_TICKETS = "2 per hour"

    limited = create_app(LimitedConfig)
    fast, other = make_user(), make_user()
    fast_http, other_http = limited.test_client(), limited.test_client()
    browser, other_browser = (fast_http, login(fast_http, fast.email)), (other_http, login(other_http, other.email))
    assert post(browser, "/support/new", {"kind": "problem", "subject": "", "body": "b"}).status_code == 422
    open_ticket(browser)
    open_ticket(browser)
    refused = post(browser, "/support/new", {"kind": "problem", "subject": "s", "body": "b"})
    assert refused.status_code == 429
    open_ticket(other_browser)  # counted per account
    with app_context():
        assert db.session.query(Ticket).count() == 3
