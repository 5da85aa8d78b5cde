"""Typing signals over a real socket: read as soon as the page sends them (not at the handler's
next push or heartbeat), spaced before they reach the database, and bounded in size."""
import json

import pytest
from websockets.exceptions import ConnectionClosed

from app.extensions import db
from app.models import Conversation, ProfileLock, Role, User
from app.realtime.typing import TypingSignals
from tests.support.context import app_context
from tests.support.factories import count, make_profile, make_user, token
from tests.support.http import LiveSession, login, post_message
from tests.support.sockets import open_socket, receive_until
from tests.support.waiting import wait_until


def test_first_signal_is_written_at_once_then_spaced():
    signals = TypingSignals(every=10, gap=1)
    signals.seen(7, now=100.0)
    assert signals.due(100.0) and signals.take(100.0) == 7
    signals.seen(7, now=103.0)                 # same conversation within 10 s: dropped
    assert not signals.due(103.0) and not signals.due(200.0)
    signals.seen(7, now=110.0)                 # 10 s later: written again
    assert signals.due(110.0) and signals.take(110.0) == 7


def test_switching_conversation_is_written_after_the_gap_not_the_interval():
    signals = TypingSignals(every=10, gap=1)
    signals.seen(7, now=0.0)
    signals.take(0.0)
    signals.seen(8, now=0.4)                   # switched: pending, due once 1 s has passed
    assert not signals.due(0.5)
    assert signals.wait(0.5, longest=30) == pytest.approx(0.5)
    assert signals.due(1.0) and signals.take(1.0) == 8
    assert signals.wait(1.0, longest=30) == 30  # nothing pending: sleep as long as the caller likes


def test_a_flood_of_alternating_signals_costs_one_write_per_gap():
    signals, writes = TypingSignals(every=10, gap=1), []
    for step in range(100):                    # 10 signals a second for 10 s, alternating
        now = step / 10
        signals.seen(step % 2, now)
        if signals.due(now):
            writes.append(signals.take(now))
    assert len(writes) == 10


def _conversation_of(client_id: int, profile_id: int) -> int:
    with app_context():
        return db.session.query(Conversation.id).filter_by(client_id=client_id, profile_id=profile_id).scalar()


def _answering(profile_id: int, moderator_id: int) -> bool:
    with app_context():
        return count(ProfileLock, profile_id=profile_id, moderator_id=moderator_id, lock_type="answering") == 1


def test_typing_locks_the_profile_at_once_and_follows_a_switch(web_server):
    moderator = make_user(Role.MODERATOR)
    client, iris, jade = make_user(), make_profile("Iris"), make_profile("Jade")
    mod_session, client_session = LiveSession(web_server.url), LiveSession(web_server.url)
    login(mod_session, moderator.email)
    ws = open_socket(mod_session)
    try:
        csrf = login(client_session, client.email)
        for profile, body in ((iris, "salut Iris"), (jade, "salut Jade")):
            post_message(client_session, csrf, profile.id, body)
            receive_until(ws, body)
        # Nothing is pushed from here on: the handler must wake on the page's signal itself
        # (its next heartbeat may be up to 30 s away).
        assert not _answering(iris.id, moderator.id) and not _answering(jade.id, moderator.id)
        ws.send(json.dumps({"type": "typing", "conversation": _conversation_of(client.id, iris.id)}))
        assert wait_until(lambda: _answering(iris.id, moderator.id), timeout=2)
        assert not _answering(jade.id, moderator.id)
        ws.send(json.dumps({"type": "typing", "conversation": _conversation_of(client.id, jade.id)}))
        assert wait_until(lambda: _answering(jade.id, moderator.id), timeout=4)   # after the 1 s switch gap
    finally:
        ws.close()


def test_a_lock_taken_or_released_pushes_that_profile_s_entries_in_place_not_the_whole_list(web_server):
    """The moderator's list is read and rendered whole for new work only: the lock flags of one
    profile change its entries alone, each replaced where it stands, with the locks panel."""
    moderator = make_user(Role.MODERATOR)
    ana, bea = make_user(display_name="Ana"), make_user(display_name="Bea")
    iris, jade = make_profile("Iris"), make_profile("Jade")
    mod_session = LiveSession(web_server.url)
    csrf_mod = login(mod_session, moderator.email)
    ws = open_socket(mod_session)
    try:
        assert wait_until(lambda: count(User, id=moderator.id, is_online=True) == 1)  # new work comes to them
        for client, profile, body in ((ana, iris, "Ana to Iris"), (bea, iris, "Bea to Iris"), (ana, jade, "Ana to Jade")):
            session = LiveSession(web_server.url)
            post_message(session, login(session, client.email), profile.id, body)
            receive_until(ws, body)
        ana_iris, bea_iris, ana_jade = (_conversation_of(ana.id, iris.id), _conversation_of(bea.id, iris.id),
                                        _conversation_of(ana.id, jade.id))

        ws.send(json.dumps({"type": "typing", "conversation": ana_iris}))   # starts answering as Iris
        locked = receive_until(ws, 'id="locks-status"')
        assert f'id="conv-{ana_iris}"' in locked and f'id="conv-{bea_iris}"' in locked
        assert f'id="conv-{ana_jade}"' not in locked and 'id="conversation-list"' not in locked
        assert locked.count('class="lock-flag"') == 2                         # both of Iris's entries
        assert locked.count('hx-swap-oob="outerHTML"') == 3                   # two entries and the panel

        response = mod_session.post(f"/moderateur/c/{ana_iris}/messages",     # the answer ends the lock
                                    data={"body": "Iris answers", "client_token": token()},
                                    headers={"X-CSRFToken": csrf_mod, "HX-Request": "true"})
        assert response.status_code == 200
        released = receive_until(ws, 'id="locks-status"')
        assert f'id="conv-{bea_iris}"' in released and f'id="conv-{ana_jade}"' not in released
        assert 'class="lock-flag"' not in released and 'id="conversation-list"' not in released
        assert "No profile is locked." in released
    finally:
        ws.close()


def test_a_message_bigger_than_a_typing_signal_closes_the_socket(web_server):
    moderator = make_user(Role.MODERATOR)
    session = LiveSession(web_server.url)
    login(session, moderator.email)
    ws = open_socket(session)
    ws.send("x" * 5000)
    with pytest.raises(ConnectionClosed) as closed:
        for _ in range(50):
            ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1009  # message too big
