"""Bans and mutes enforced on every way a client's message is stored, over HTTP: a text message
(the one-statement path and the checked one), a reply, a photo; and a banned client's reactions.
Each is refused with a 403 that says why and until when, in the composer, and nothing is stored."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Message, MessageReaction, Photo, Role, User
from app.services.moderation import sanctions
from tests.blueprints.test_photos_http import send_photo, stored_files
from tests.support import images
from tests.support.context import app_context
from tests.support.factories import count, make_profile, make_user, token
from tests.support.http import login, send

HX = {"HX-Request": "true", "X-Error-Target": "#send-error", "Accept-Language": "en"}


def sanction(client_id: int, kind: str, minutes: int | None = 60, reason: str = "insults") -> None:
    with app_context():
        admin = make_user(Role.ADMIN)
        now = utcnow()
        with write_transaction():
            sanctions.impose(db.session.get(User, admin.id), client_id, kind, reason,
                             now + timedelta(minutes=minutes) if minutes else None, now)


@pytest.fixture
def talking(client):
    """A client in a conversation a moderator holds, with one message already sent."""
    make_user(Role.MODERATOR, online=True)
    customer, profile = make_user(), make_profile()
    csrf = login(client, customer.email)
    assert send(client, csrf, profile.id, "hello").status_code == 200
    with app_context():
        first_id = db.session.query(Message.id).scalar()
    return customer, profile, csrf, first_id


def refused(response, words: str) -> None:
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == "#send-error"
    assert words in response.get_data(as_text=True)


@pytest.mark.parametrize("kind, words", [("mute", "You are muted until"), ("ban", "You are banned until")])
def test_a_sanctioned_clients_text_message_is_refused_and_not_stored(client, talking, kind, words):
    customer, profile, csrf, _ = talking
    sanction(customer.id, kind)
    response = client.post(f"/profiles/{profile.id}/messages", data={"body": "again", "client_token": token()},
                           headers={"X-CSRFToken": csrf, **HX})
    refused(response, words)
    assert "insults" in response.get_data(as_text=True)
    assert count(Message) == 1


def test_a_muted_clients_first_message_to_a_new_profile_is_refused(client, talking):
    customer, _, csrf, _ = talking
    sanction(customer.id, "mute", None)
    other = make_profile()
    response = client.post(f"/profiles/{other.id}/messages", data={"body": "hi", "client_token": token()},
                           headers={"X-CSRFToken": csrf, **HX})
    refused(response, "You are muted (insults)")
    assert count(Message) == 1


def test_a_muted_clients_reply_is_refused(client, talking):
    customer, profile, csrf, first_id = talking
    sanction(customer.id, "mute")
    response = client.post(f"/profiles/{profile.id}/messages",
                           data={"body": "quoting", "client_token": token(), "reply_to": str(first_id)},
                           headers={"X-CSRFToken": csrf, **HX})
    refused(response, "You are muted until")
    assert count(Message) == 1


def test_a_muted_clients_photo_is_refused_and_its_file_removed(app, client, talking):
    customer, profile, csrf, _ = talking
    sanction(customer.id, "mute")
    before = stored_files(app)
    response = send_photo(client, csrf, profile.id, images.jpeg(), caption="look")
    refused(response, "You are muted until")
    assert count(Message) == 1 and count(Photo) == 0 and stored_files(app) == before


def test_a_banned_client_may_not_react_a_muted_one_may(client, talking):
    customer, _, csrf, first_id = talking
    sanction(customer.id, "mute")
    assert client.post(f"/messages/{first_id}/reactions", data={"emoji": "👍"},
                       headers={"X-CSRFToken": csrf, **HX}).status_code == 200
    sanction(customer.id, "ban")
    response = client.post(f"/messages/{first_id}/reactions", data={"emoji": "👍"}, headers={"X-CSRFToken": csrf, **HX})
    assert response.status_code == 403 and "You are banned until" in response.get_data(as_text=True)
    assert count(MessageReaction) == 1


def test_a_lifted_mute_lets_the_client_write_again(client, talking):
    customer, profile, csrf, _ = talking
    sanction(customer.id, "mute")
    with app_context():
        admin = db.session.query(User).filter_by(role=Role.ADMIN).first()
        running = sanctions.running(customer.id, utcnow())["mute"]
        with write_transaction():
            sanctions.lift(admin, running.id, "", utcnow())
    assert send(client, csrf, profile.id, "thanks").status_code == 200
    assert count(Message) == 2


def test_a_banned_clients_pages_say_why_and_until_when_and_logging_in_shows_it(app, client, talking):
    customer, profile, csrf, _ = talking
    sanction(customer.id, "ban", reason="spam links")
    for page in ("/profiles", f"/profiles/{profile.id}"):
        response = client.get(page, headers={"Accept-Language": "en"})
        html = response.get_data(as_text=True)
        assert response.status_code == 403
        assert "You are banned" in html and "spam links" in html and "until" in html
        assert 'ws-connect' not in html and "send-form" not in html
    fresh = app.test_client()
    login(fresh, customer.email)
    assert "You are banned" in fresh.get("/profiles", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_a_muted_clients_conversation_reads_with_the_composer_saying_until_when(client, talking):
    customer, profile, _, _ = talking
    sanction(customer.id, "mute", reason="shouting")
    html = client.get(f"/profiles/{profile.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "hello" in html  # reads the history
    assert "You are muted until" in html and "shouting" in html and "data-send-form" not in html


def test_a_banned_client_opens_no_socket(client, talking):
    customer, _, _, _ = talking
    sanction(customer.id, "ban")
    assert client.get("/ws", headers={"Origin": "http://localhost"}).status_code == 403


def test_the_composer_follows_the_clients_standing(app, client, talking):
    """What the page fetches when a push says the standing changed: the send form, the muted note
    (data-standing tells the page whether to swap), the banned page; never another user's."""
    customer, profile, _, _ = talking
    url = f"/profiles/{profile.id}/composer"
    html = client.get(url, headers=HX).get_data(as_text=True)
    assert 'data-standing="open"' in html and "data-send-form" in html and f"/profiles/{profile.id}/messages" in html
    sanction(customer.id, "mute", reason="shouting")
    html = client.get(url, headers=HX).get_data(as_text=True)
    assert 'data-standing="muted"' in html and "You are muted until" in html and "shouting" in html
    assert "data-send-form" not in html
    assert client.get("/profiles/999999/composer", headers=HX).status_code == 404
    sanction(customer.id, "ban", reason="spam links")
    banned = client.get(url, headers=HX)
    assert banned.status_code == 403 and "spam links" in banned.get_data(as_text=True)
    moderator = app.test_client()
    login(moderator, make_user(Role.MODERATOR).email)
    assert moderator.get(url, headers=HX).status_code == 403
