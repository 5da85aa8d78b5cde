"""Presence from real sockets on a real gunicorn process: a closed socket is offline only after
the grace (run by the real worker), and a socket that comes back within it keeps the user online."""
import time

import pytest

from app.extensions import db
from app.models import Role, User
from app.realtime.socket import ping_interval
from tests.support.context import app_context
from tests.support.factories import make_user
from tests.support.http import LiveSession, login
from tests.support.processes import WebServer
from tests.support.sockets import open_socket
from tests.support.waiting import wait_until

GRACE = 2


def online(user_id: int) -> bool:
    with app_context():
        db.session.expire_all()
        return db.session.get(User, user_id).is_online


@pytest.mark.slow
def test_close_then_reopen_within_the_grace_stays_online_close_for_good_goes_offline(app, rq_worker):
    server = WebServer(PRESENCE_GRACE_SECONDS=GRACE).start()
    try:
        moderator = make_user(Role.MODERATOR)
        session = LiveSession(server.url)
        login(session, moderator.email)
        ws = open_socket(session)
        wait_until(lambda: online(moderator.id))

        ws.close()                                   # a reload: the old page's socket closes…
        time.sleep(0.3)
        ws = open_socket(session)                    # …and the new page's opens
        time.sleep(GRACE + 2)                        # the check after the grace has run
        assert online(moderator.id)

        ws.close()                                   # the page is closed for good
        time.sleep(0.5)
        assert online(moderator.id)                  # not at once
        wait_until(lambda: not online(moderator.id), timeout=GRACE + 10)
    finally:
        server.stop()


def test_sockets_opened_together_are_not_pinged_together(app):
    """Each new socket draws its own ping interval."""
    base, jitter = app.config["WS_PING_INTERVAL_SECONDS"], app.config["WS_PING_JITTER"]
    intervals = [ping_interval(base, jitter) for _ in range(200)]
    assert all(base * (1 - jitter) <= i <= base * (1 + jitter) for i in intervals)
    assert max(intervals) - min(intervals) > base * jitter  # spread, not one shared instant
