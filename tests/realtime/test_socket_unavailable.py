"""A page's socket opening while Redis (or the database) cannot be reached is closed with 1013
("try again later": the page reconnects after a backoff and catches up) instead of failing in
the middle of the WebSocket stream; once Redis is back it opens as usual."""
import shutil
import tempfile

import pytest
from websockets.exceptions import ConnectionClosed

from app.models import Role
from tests.support.factories import make_user
from tests.support.http import LiveSession, login
from tests.support.processes import WebServer, free_port, redis_server, stop
from tests.support.sockets import open_socket
from tests.support.waiting import wait_until



def _stays_open(session) -> bool:
    """A socket that opens and is not closed within a second: live, waiting for pushes."""
    ws = open_socket(session)
    try:
        ws.recv(timeout=1)
    except TimeoutError:
        return True
    except ConnectionClosed:
        return False
    finally:
        ws.close()
    return True


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_a_socket_opened_while_redis_is_down_is_told_to_try_again_later(app):
    folder, port = tempfile.mkdtemp(prefix="switchboard-redis-"), free_port()
    private_redis = redis_server(port, folder)
    web = WebServer(REDIS_URL=f"redis://127.0.0.1:{port}/0").start()
    try:
        moderator = make_user(Role.MODERATOR)
        session = LiveSession(web.url)
        login(session, moderator.email)

        stop(private_redis)
        ws = open_socket(session)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013

        private_redis = redis_server(port, folder)
        wait_until(lambda: _stays_open(session), timeout=20)  # (the hub's resubscription closes older sockets)
        log = web.log.read_text(errors="replace")
        assert "refused for now, Redis down" in log and "Error handling request" not in log
    finally:
        web.stop()
        stop(private_redis)
        shutil.rmtree(folder, ignore_errors=True)
