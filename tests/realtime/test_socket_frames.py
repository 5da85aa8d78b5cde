"""The page's socket after its handshake, on a real server: the request that opened it is over (the
socket holds none of the server's connections), and the protocol is served whole: the page's
pings and close are answered, a message sent in several frames is read as one; a process holds a
bounded number of sockets, and closes them itself when it stops."""
import json
import signal

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.clock import utcnow
from app.models import Role
from app.redis_client import get_redis
from app.services import presence
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user
from tests.support.http import LiveSession, login, post_message
from tests.support.processes import WebServer
from tests.support.sockets import open_socket, receive_until, until_hearing
from tests.support.waiting import wait_until
from tests.realtime.test_typing import _answering, _conversation_of

SLOTS = 3


@pytest.fixture
def few_slots_server(app):
    """A server that serves at most SLOTS connections at once (gunicorn's worker_connections)."""
    server = WebServer(WORKER_CONNECTIONS=str(SLOTS)).start()
    yield server
    server.stop()


@pytest.mark.slow
def test_open_sockets_do_not_hold_the_server_s_connections(few_slots_server):
    users = [make_user() for _ in range(2 * SLOTS)]
    sockets = []
    try:
        for user in users:
            session = LiveSession(few_slots_server.url)
            login(session, user.email)
            sockets.append(open_socket(session))
        for ws, user in zip(sockets, users):
            until_hearing(ws, user.id)  # every socket is served...
        assert LiveSession(few_slots_server.url).get("/login", timeout=5).status_code == 200  # ...and pages still are
    finally:
        for ws in sockets:
            ws.close()


def test_the_page_s_ping_and_close_are_answered(web_server):
    session = LiveSession(web_server.url)
    login(session, make_user().email)
    ws = open_socket(session)
    assert ws.ping().wait(5)           # a pong came back
    ws.close()
    assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1000  # our close, answered


def test_a_typing_signal_sent_in_several_frames_is_read_whole(web_server):
    moderator, client, iris = make_user(Role.MODERATOR), make_user(), make_profile("Iris")
    mod_session, client_session = LiveSession(web_server.url), LiveSession(web_server.url)
    login(mod_session, moderator.email)
    ws = open_socket(mod_session)
    try:
        post_message(client_session, login(client_session, client.email), iris.id, "salut Iris")
        receive_until(ws, "salut Iris")
        signal = json.dumps({"type": "typing", "conversation": _conversation_of(client.id, iris.id)})
        ws.send(iter([signal[:7], signal[7:20], signal[20:]]))   # one message, three frames
        assert wait_until(lambda: _answering(iris.id, moderator.id), timeout=3)
    finally:
        ws.close()


@pytest.fixture
def capped_server(app):
    server = WebServer(WS_MAX_SOCKETS="2").start()
    yield server
    server.stop()


@pytest.mark.slow
def test_a_process_holding_its_most_sockets_refuses_the_next_until_one_closes(capped_server):
    sessions = []
    for _ in range(3):
        session = LiveSession(capped_server.url)
        login(session, make_user().email)
        sessions.append(session)
    first, second = open_socket(sessions[0]), open_socket(sessions[1])
    try:
        with pytest.raises(InvalidStatus) as refused:
            open_socket(sessions[2])
        assert refused.value.response.status_code == 503   # the page tries again later
        first.close()
        assert wait_until(lambda: _opens(sessions[2]), timeout=5)
    finally:
        second.close()


def _opens(session) -> bool:
    try:
        open_socket(session).close()
    except InvalidStatus:
        return False
    return True


@pytest.mark.slow
def test_a_server_stopping_gracefully_tells_its_pages_to_reconnect_and_records_them_closed(app):
    server = WebServer().start()
    try:
        user = make_user()
        session = LiveSession(server.url)
        login(session, user.email)
        ws = open_socket(session)
        until_hearing(ws, user.id)
        assert _live_sockets(user.id) == 1
        server.proc.send_signal(signal.SIGTERM)  # a stop, a restart or a reload
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012   # reconnect, elsewhere
        assert wait_until(lambda: _live_sockets(user.id) == 0, timeout=5)      # not left to go stale
    finally:
        server.stop()


def _live_sockets(user_id: int) -> int:
    with app_context():
        return presence.live_socket_count(get_redis(), user_id, utcnow())
