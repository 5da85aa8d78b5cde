"""Reactions and replies over HTTP: who may react and see (client A never touches client B's), the
fragment each side gets, bad input as a clear translated 4xx, and replies kept inside their
conversation on both sides."""
import re

import pytest

from app.extensions import db
from app.models import Message, MessageReaction, Role
from tests.support.context import app_context
from tests.support.factories import count, make_profile, make_user, token
from tests.support.http import login, send

HX = {"HX-Request": "true"}


def react(http, csrf, message_id, emoji):
    return http.post(f"/messages/{message_id}/reactions", data={"emoji": emoji}, headers={"X-CSRFToken": csrf, **HX})


def message_ids():
    with app_context():
        return [m.id for m in Message.query.order_by(Message.id)]


@pytest.fixture
def two_clients(app):
    """Client A and client B, each in a conversation with their own message, one moderator holding both."""
    moderator = make_user(Role.MODERATOR, online=True, locale="fr")
    profile = make_profile()
    people = {}
    for name, locale in (("a", "en"), ("b", "de")):
        user = make_user(email=f"{name}@example.com", locale=locale)
        http = app.test_client()
        csrf = login(http, user.email)
        assert send(http, csrf, profile.id, f"hello from {name}").status_code == 200
        people[name] = (http, csrf)
    mod_http = app.test_client()
    people["moderator"] = (mod_http, login(mod_http, moderator.email))
    a_id, b_id = message_ids()
    return people, profile, a_id, b_id


def test_each_client_reacts_only_in_their_own_conversation(two_clients):
    people, _, a_id, b_id = two_clients
    (a, a_csrf), (b, _) = people["a"], people["b"]
    given = react(a, a_csrf, a_id, "👍")
    assert given.status_code == 200
    assert f'id="reactions-{a_id}"' in given.get_data(as_text=True) and 'aria-pressed="true"' in given.get_data(as_text=True)
    forged = react(a, a_csrf, b_id, "👍")  # B's message, named by A
    assert forged.status_code == 403
    assert a.get(f"/messages/{b_id}/reactions", headers=HX).status_code == 403
    assert react(a, a_csrf, 2**31 - 1, "👍").status_code == 404
    assert react(a, a_csrf, 99_999, "👍").status_code == 404
    assert b.get(f"/messages/{a_id}/reactions").status_code == 403
    seen_by_b = b.get(f"/messages/{b_id}/reactions").get_data(as_text=True)
    assert "👍" not in seen_by_b  # B's message carries no reaction of A
    with app_context():
        assert [(r.message_id, r.side) for r in MessageReaction.query] == [(a_id, "client")]


def test_the_holder_reacts_as_the_profile_and_each_side_sees_its_own_pressed(two_clients):
    people, _, a_id, _ = two_clients
    (a, a_csrf), (moderator, mod_csrf) = people["a"], people["moderator"]
    react(a, a_csrf, a_id, "😂")
    both = react(moderator, mod_csrf, a_id, "😂").get_data(as_text=True)
    assert re.search(r'aria-pressed="true"[^>]*>😂<span class="count">2</span>', both), both
    only_client = react(moderator, mod_csrf, a_id, "😂").get_data(as_text=True)  # taken back
    assert re.search(r'aria-pressed="false"[^>]*>😂<span class="count">1</span>', only_client), only_client


def test_a_moderator_who_does_not_hold_the_conversation_is_refused(app, two_clients):
    _, _, a_id, _ = two_clients
    other = app.test_client()
    csrf = login(other, make_user(Role.MODERATOR, email="other-mod@example.com").email)
    assert react(other, csrf, a_id, "👍").status_code == 403
    assert other.get(f"/messages/{a_id}/reactions").status_code == 403
    assert count(MessageReaction) == 0


@pytest.mark.parametrize("emoji", ["", "hello", "<script>", "👍" * 100, "x" * 5000])
def test_what_is_not_an_emoji_is_a_clear_400_in_the_users_language(two_clients, emoji):
    people, _, _, b_id = two_clients
    b, csrf = people["b"]  # writes German
    response = react(b, csrf, b_id, emoji)
    assert response.status_code == 400
    assert "Emoji" in response.get_data(as_text=True)  # "Wählen Sie ein Emoji …"
    assert count(MessageReaction) == 0


def test_the_cap_of_different_emoji_per_message_is_a_clear_400(app, two_clients):
    people, _, a_id, _ = two_clients
    a, csrf = people["a"]
    limit = app.config["REACTIONS_PER_MESSAGE_MAX"]
    chosen = ["👍", "❤️", "😂", "😮", "😢", "🙏", "🎉", "🔥"][:limit + 1]
    answers = [react(a, csrf, a_id, e).status_code for e in chosen]
    assert answers == [200] * limit + [400]
    assert count(MessageReaction) == limit


def test_a_reaction_needs_the_csrf_token_and_a_login(app, two_clients):
    people, _, a_id, _ = two_clients
    a, _ = people["a"]
    assert a.post(f"/messages/{a_id}/reactions", data={"emoji": "👍"}).status_code == 400
    assert app.test_client().post(f"/messages/{a_id}/reactions", data={"emoji": "👍"}).status_code in (302, 400, 401)
    assert count(MessageReaction) == 0


def reply(http, csrf, url, body, reply_to):
    return http.post(url, data={"body": body, "client_token": token(), "reply_to": reply_to},
                     headers={"X-CSRFToken": csrf, **HX})


def test_a_reply_shows_its_quote_and_the_history_page_too(two_clients):
    people, profile, a_id, _ = two_clients
    a, csrf = people["a"]
    answer = reply(a, csrf, f"/profiles/{profile.id}/messages", "an answer", str(a_id))
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert f'data-quote-of="{a_id}"' in text and "hello from a" in text
    page = a.get(f"/profiles/{profile.id}").get_data(as_text=True)
    assert page.count(f'data-quote-of="{a_id}"') == 1


def test_a_reply_to_a_message_of_another_conversation_is_refused_on_both_sides(two_clients):
    people, profile, a_id, b_id = two_clients
    (a, a_csrf), (moderator, mod_csrf) = people["a"], people["moderator"]
    refused = reply(a, a_csrf, f"/profiles/{profile.id}/messages", "hijack", str(b_id))
    assert refused.status_code == 404 and "not in this conversation" in refused.get_data(as_text=True)
    with app_context():
        conversation_id = db.session.get(Message, a_id).conversation_id
    refused = reply(moderator, mod_csrf, f"/moderateur/c/{conversation_id}/messages", "hijack", str(b_id))
    assert refused.status_code == 404 and "pas dans cette conversation" in refused.get_data(as_text=True)
    assert reply(moderator, mod_csrf, f"/moderateur/c/{conversation_id}/messages", "ok", str(a_id)).status_code == 200
    for bad in ("abc", "-1", str(2**40)):
        answer = reply(a, a_csrf, f"/profiles/{profile.id}/messages", "bad", bad)
        assert answer.status_code == 400 and "message number" in answer.get_data(as_text=True)
    assert count(Message) == 3


def test_a_catch_up_carries_the_reactions_of_the_messages_the_page_shows(two_clients):
    """A page that was away asks for newer messages and for its messages' reactions again: what
    changed meanwhile comes out of band, a reaction taken back as an empty bar; nothing of another
    conversation, whatever ids it names."""
    people, profile, a_id, b_id = two_clients
    (a, a_csrf), (mod, mod_csrf) = people["a"], people["moderator"]
    assert send(a, a_csrf, profile.id, "second from a").status_code == 200
    second_id = message_ids()[-1]
    assert react(mod, mod_csrf, a_id, "❤️").status_code == 200      # given while the client was away
    assert react(a, a_csrf, second_id, "👍").status_code == 200
    assert react(a, a_csrf, second_id, "👍").status_code == 200      # ... and taken back

    caught = a.get(f"/profiles/{profile.id}/messages?after={second_id}&refresh_from={a_id}", headers=HX)
    html = caught.get_data(as_text=True)
    assert caught.status_code == 200
    bars = dict(re.findall(r'<div class="reactions" id="reactions-(\d+)"[^>]*hx-swap-oob="true">(.*?)</div>', html, re.S))
    assert set(bars) == {str(a_id), str(second_id)}          # B's message lies between the two: not included
    assert "❤️" in bars[str(a_id)] and 'aria-pressed="false"' in bars[str(a_id)]  # the profile's, not the client's
    assert "data-react" not in bars[str(second_id)]          # taken back: an empty bar replaces the old one

    plain = a.get(f"/profiles/{profile.id}/messages?after={second_id}", headers=HX).get_data(as_text=True)
    assert "hx-swap-oob" not in plain                        # without refresh_from: new messages only
    refused = a.get(f"/profiles/{profile.id}/messages?after={second_id}&refresh_from=x", headers=HX)
    assert refused.status_code == 400 and "refresh_from" in refused.get_data(as_text=True)
