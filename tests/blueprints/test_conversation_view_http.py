"""The moderator's list: waiting / all, longest wait first / latest activity, kept for them;
and the queue card's wording for a moderator who already holds waiting conversations."""
import re
from datetime import timedelta

import pytest

from app.clock import utcnow
from app.database import write_transaction
from app.models import Role
from app.services import chat, sending
from tests.support.factories import make_profile, make_user, token
from tests.support.http import login


def _conversations(moderator, app, waits):
    """Conversations given to ``moderator``: for each (name, minutes ago, answered)."""
    made = {}
    with app.app_context():
        for name, minutes, answered in waits:
            at = utcnow() - timedelta(minutes=minutes)
            with write_transaction():
                conversation = sending.post_client_message(make_user(display_name=name), make_profile().id, "hi",
                                                           token(), at).message.conversation
            assert conversation.assigned_moderator_id == moderator.id
            if answered:
                with write_transaction():
                    chat.post_profile_reply(moderator, conversation.id, "hello", token(), at + timedelta(seconds=5),
                                            2000)
            made[name] = conversation.id
    return made


def _order(html):
    return [int(i) for i in re.findall(r'id="conv-(\d+)"', html)]


@pytest.fixture
def desk(app):
    moderator = make_user(Role.MODERATOR, online=True)
    made = _conversations(moderator, app, [("Old", 30, False), ("Answered", 20, True), ("Recent", 5, False)])
    client = app.test_client()
    login(client, moderator.email)
    return client, made


def test_filter_and_sort_change_the_list_and_are_kept(desk):
    client, made = desk
    default = client.get("/moderateur/conversations").get_data(as_text=True)
    assert _order(default) == [made["Recent"], made["Old"], made["Answered"]]      # all, latest activity
    waiting = client.get("/moderateur/conversations?filter=waiting", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert _order(waiting) == [made["Old"], made["Recent"]]     # waiting only, longest wait first
    assert 'data-filter="waiting"' in waiting and 'id="list-controls"' in waiting
    assert _order(client.get("/moderateur/conversations").get_data(as_text=True)) == [made["Old"], made["Recent"]]
    page = client.get("/moderateur/").get_data(as_text=True)                      # kept across pages
    assert _order(page) == [made["Old"], made["Recent"]] and 'aria-pressed="true"' in page
    latest = client.get("/moderateur/conversations?filter=waiting&sort=latest").get_data(as_text=True)
    assert _order(latest) == [made["Recent"], made["Old"]]
    every = client.get("/moderateur/conversations?filter=all&sort=wait").get_data(as_text=True)
    assert _order(every) == [made["Old"], made["Recent"], made["Answered"]]


@pytest.mark.parametrize("query", ["filter=<script>&sort=x", "filter=&sort=", "sort=oldest&filter=%E2%80%8B", "filter=WAITING"])
def test_bad_values_fall_back_to_the_default(desk, query):
    client, made = desk
    response = client.get(f"/moderateur/conversations?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-filter="all"' in html and "<script>" not in html
    assert set(_order(html)) == set(made.values())


def test_the_queue_card_says_what_a_busy_moderator_holds(app):
    moderator = make_user(Role.MODERATOR, online=True)
    client = app.test_client()
    login(client, moderator.email)
    idle = client.get("/moderateur/queue/status").get_data(as_text=True)
    assert "In the queue: 1 of 1" in idle and "waiting for your reply" not in idle
    _conversations(moderator, app, [("A", 10, False), ("B", 5, False)])
    busy = client.get("/moderateur/queue/status").get_data(as_text=True)
    assert "You have 2 conversations waiting for your reply" in busy
    assert "In the queue" not in busy and "Next conversation" not in busy    # alone: no position, no wait
    make_user(Role.MODERATOR, online=True)                                   # another one queues
    shared = client.get("/moderateur/queue/status").get_data(as_text=True)
    assert "You have 2 conversations waiting for your reply" in shared
    assert re.search(r"Still in the queue for new conversations: \d of 2", shared)
    assert "Next conversation" not in shared


def test_the_queue_card_of_a_free_moderator_keeps_position_and_wait(app):
    moderator = make_user(Role.MODERATOR, online=True)
    client = app.test_client()
    login(client, moderator.email)
    _conversations(moderator, app, [("Answered", 10, True)])            # held, but nobody waits
    card = client.get("/moderateur/queue/status").get_data(as_text=True)
    assert "In the queue: 1 of 1" in card and "Next conversation" in card and "waiting for your reply" not in card
