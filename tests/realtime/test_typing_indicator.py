"""The typing indicator: a page's typing signal shown to the other side of the conversation, and to
nobody else; spaced pushes, and no database write for any signal.

In this process (the app's own hub, real Redis and database, time driven by ``now``), then over
real sockets to a real server."""
import json
import time

import pytest
from flask_login import login_user

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Conversation, Role, User
from app.realtime.hub import get_hub
from app.realtime.typing_indicator import TypingIndicator, typing_signalled
from app.redis_client import get_redis
from app.services import sending
from app.services.typing_indicator import TypingAudiences
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user, token
from tests.support.http import LiveSession, login, post_message
from tests.support.processes import WebServer
from tests.support.sockets import open_socket, queued, receive_until
from tests.support.sql import recorded_statements
from tests.support.waiting import wait_until

TYPING = 'class="typing-indicator is-typing"'


def _conversation(app, client_id: int, profile_id: int) -> int:
    """The client writes to the profile (the online moderator receives it): their conversation's id."""
    with app.test_request_context("/"):
        sender = db.session.get(User, client_id)
        login_user(sender)
        with write_transaction():
            posted = sending.post_client_message(sender, profile_id, "bonjour", token(), utcnow())
        conversation_id = posted.message.conversation_id
        db.session.remove()
    return conversation_id


@pytest.fixture
def sockets_here(app):
    """``sockets_here(*user_ids)``: a socket's mailbox in this process for each user, once the
    app's hub is subscribed (its pushes are then queued to them directly)."""
    with app.app_context():
        hub = get_hub()
    made = []

    def register(*user_ids):
        conns = [hub.register(user_id) for user_id in user_ids]
        made.extend(conns)
        assert wait_until(lambda: hub.listening, timeout=10)
        return conns

    yield register
    for conn in made:
        hub.unregister(conn)


def _kinds(statements: list[str]) -> list[str]:
    """What each statement does (SELECT, INSERT, …), leaving out SQLite's BEGIN of a transaction."""
    return [kind for kind in (statement.split(None, 1)[0].upper() for statement in statements) if kind != "BEGIN"]


def _pushes(conn) -> list[str]:
    """The typing indicators queued for a socket (a moderator's may also get queue panels)."""
    return [fragment for fragment in queued(conn, timeout=0.3) if 'class="typing-indicator' in fragment]


def test_each_side_sees_the_other_typing_in_their_own_language(app, sockets_here):
    moderator = make_user(Role.MODERATOR, online=True, locale="en")
    client, hanna = make_user(display_name="Julien", locale="de"), make_profile("Hanna")
    conversation_id = _conversation(app, client.id, hanna.id)
    with app.app_context():
        assert db.session.get(Conversation, conversation_id).assigned_moderator_id == moderator.id
    to_client, to_moderator = sockets_here(client.id, moderator.id)
    indicator = TypingIndicator(every=2, gap=1, audiences=TypingAudiences(keep=5))

    with app.test_request_context("/"):
        indicator.signalled(get_redis(), moderator.id, conversation_id, now=100.0)   # types as Hanna
        [shown] = _pushes(to_client)
        assert f'id="typing-p{hanna.id}"' in shown and TYPING in shown and 'hx-swap-oob="true"' in shown
        assert "Hanna schreibt…" in shown
        assert _pushes(to_moderator) == []

        indicator.signalled(get_redis(), client.id, conversation_id, now=100.5)      # the client types
        [shown] = _pushes(to_moderator)
        assert f'id="typing-c{conversation_id}"' in shown and "Julien is typing…" in shown
        assert f'id="typing-mark-c{conversation_id}"' in shown and "typing…</span>" in shown   # its list entry
        assert _pushes(to_client) == []
        db.session.remove()


def test_nobody_but_the_two_sides_can_signal_and_a_forged_id_pushes_nothing(app, sockets_here):
    holder, other_moderator = make_user(Role.MODERATOR, online=True), make_user(Role.MODERATOR)
    client, other_client, profile = make_user(), make_user(), make_profile("Hanna")
    conversation_id = _conversation(app, client.id, profile.id)
    others_conversation = _conversation(app, other_client.id, profile.id)   # the same holder's
    conns = sockets_here(holder.id, other_moderator.id, client.id, other_client.id)
    indicator = TypingIndicator(every=2, gap=1, audiences=TypingAudiences(keep=5))

    with app.test_request_context("/"):
        r, now = get_redis(), 100.0
        for typist, typed_in in ((other_client.id, conversation_id),      # another client of the holder
                                 (other_moderator.id, conversation_id),   # a moderator who does not hold it
                                 (client.id, conversation_id + 1000),     # no such conversation
                                 (client.id, others_conversation)):       # someone else's
            now += 5
            assert indicator.signalled(r, typist, typed_in, now) is None
        assert [_pushes(conn) for conn in conns] == [[], [], [], []]

        assert indicator.signalled(r, client.id, conversation_id, now + 5).user_id == holder.id   # the right one does
        assert [len(_pushes(conn)) for conn in conns] == [1, 0, 0, 0]
        db.session.remove()


def test_a_burst_of_signals_makes_spaced_pushes_one_read_and_no_write(app, sockets_here):
    """50 signals in 5 s (a page sending ten a second): a push every 2 s, one read in all."""
    make_user(Role.MODERATOR, online=True)
    client, profile = make_user(), make_profile("Hanna")
    conversation_id = _conversation(app, client.id, profile.id)
    with app.app_context():
        holder_id = db.session.get(Conversation, conversation_id).assigned_moderator_id
    [to_moderator] = sockets_here(holder_id)
    indicator = TypingIndicator(every=2, gap=1, audiences=TypingAudiences(keep=5))

    with app.test_request_context("/"):
        with recorded_statements(db.engine, this_thread_only=True) as statements:
            pushed = [indicator.signalled(get_redis(), client.id, conversation_id, now=100 + step / 10)
                      for step in range(50)]
        assert [step / 10 for step, watcher in enumerate(pushed) if watcher] == [0.0, 2.0, 4.0]
        assert len(_pushes(to_moderator)) == 3
        assert _kinds(statements) == ["SELECT"]

        with recorded_statements(db.engine, this_thread_only=True) as statements:   # past the audience's keep: read again
            assert indicator.signalled(get_redis(), client.id, conversation_id, now=106.0) is not None
        assert _kinds(statements) == ["SELECT"]
        db.session.remove()


def test_a_signal_with_no_conversation_reads_and_pushes_nothing(app, sockets_here):
    client = make_user()
    [conn] = sockets_here(client.id)
    with app.test_request_context("/"):
        with recorded_statements(db.engine, this_thread_only=True) as statements:
            typing_signalled(client.id, None, time.monotonic())
        assert statements == [] and _pushes(conn) == []
        db.session.remove()


# -- over real sockets ------------------------------------------------------------------------------

def _typing_frames(ws, seconds: float) -> list[str]:
    """The typing indicators pushed to ``ws`` within ``seconds``."""
    frames, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            frame = ws.recv(timeout=max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            continue
        if 'class="typing-indicator' in frame:
            frames.append(frame)
    return frames


def _conversation_of(client_id: int, profile_id: int) -> int:
    with app_context():
        return db.session.query(Conversation.id).filter_by(client_id=client_id, profile_id=profile_id).scalar()


def _signal(ws, conversation_id) -> None:
    ws.send(json.dumps({"type": "typing", "conversation": conversation_id}))


def test_typing_reaches_the_other_side_s_socket_and_forged_ids_reach_nobody(web_server):
    holder, other_moderator = make_user(Role.MODERATOR), make_user(Role.MODERATOR)
    client, other_client, hanna = make_user(display_name="Julien"), make_user(), make_profile("Hanna")
    people = (holder, other_moderator, client, other_client)
    sessions = {user.id: LiveSession(web_server.url) for user in people}
    csrf = {user.id: login(sessions[user.id], user.email) for user in people}
    sockets = {holder.id: open_socket(sessions[holder.id])}    # online first: it receives the conversations
    holder_ws = sockets[holder.id]
    try:
        assert wait_until(lambda: _online(holder.id))
        sockets.update({user.id: open_socket(sessions[user.id]) for user in people[1:]})
        post_message(sessions[client.id], csrf[client.id], hanna.id, "hallo")
        post_message(sessions[other_client.id], csrf[other_client.id], hanna.id, "salut")
        receive_until(holder_ws, "salut")
        conversation_id = _conversation_of(client.id, hanna.id)

        # Forged: signals of people who are neither side, and for no conversation at all.
        _signal(sockets[other_client.id], conversation_id)
        _signal(sockets[other_moderator.id], conversation_id)
        _signal(sockets[client.id], conversation_id + 1000)
        assert [_typing_frames(ws, 1.5) for ws in sockets.values()] == [[], [], [], []]

        # The holder types as Hanna: the client sees it; then the client types (past the switch
        # gap after their forged signal): the holder sees it.
        _signal(holder_ws, conversation_id)
        shown = receive_until(sockets[client.id], 'class="typing-indicator')
        assert f'id="typing-p{hanna.id}"' in shown and "Hanna is typing…" in shown
        _signal(sockets[client.id], conversation_id)
        shown = receive_until(holder_ws, 'class="typing-indicator')
        assert f'id="typing-c{conversation_id}"' in shown and "Julien is typing…" in shown
        assert [_typing_frames(sockets[user.id], 0.5) for user in (other_moderator, other_client)] == [[], []]
    finally:
        for ws in sockets.values():
            ws.close()


def _online(user_id: int) -> bool:
    with app_context():
        db.session.expire_all()
        return db.session.get(User, user_id).is_online


@pytest.mark.slow
def test_a_page_s_burst_of_signals_is_one_push(app):
    """With pushes spaced by a minute, 20 signals sent over a second (the handler wakes for each)
    reach the holder once."""
    server = WebServer(TYPING_PUSH_SECONDS=60).start()
    try:
        holder, client, profile = make_user(Role.MODERATOR), make_user(), make_profile("Hanna")
        holder_session, client_session = LiveSession(server.url), LiveSession(server.url)
        login(holder_session, holder.email)
        csrf = login(client_session, client.email)
        holder_ws = open_socket(holder_session)
        client_ws = open_socket(client_session)
        try:
            assert wait_until(lambda: _online(holder.id))
            post_message(client_session, csrf, profile.id, "hallo")
            receive_until(holder_ws, "hallo")
            conversation_id = _conversation_of(client.id, profile.id)
            for _ in range(20):
                _signal(client_ws, conversation_id)
                time.sleep(0.05)
            assert len(_typing_frames(holder_ws, 2)) == 1
        finally:
            holder_ws.close()
            client_ws.close()
    finally:
        server.stop()
