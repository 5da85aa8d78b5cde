"""A ban reaches the client's open page on a real server: it is told why and until when (a
fragment in place of the chat), then its socket closes, and it opens no other while banned."""
from __future__ import annotations

from datetime import timedelta

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Role, User
from app.realtime.push import STANDING_CHANGED
from app.services.moderation import sanctions
from tests.support.context import app_context
from tests.support.factories import make_user
from tests.support.http import LiveSession, login
from tests.support.sockets import open_socket, until_hearing


@pytest.mark.slow
def test_a_ban_tells_the_open_page_why_then_closes_its_socket(web_server):
    admin, customer = make_user(Role.ADMIN), make_user()
    session = LiveSession(web_server.url)
    login(session, customer.email)
    ws = open_socket(session)
    until_hearing(ws, customer.id)
    with app_context():
        now = utcnow()
        with write_transaction():
            sanctions.impose(db.session.get(User, admin.id), customer.id, "ban", "spam links",
                             now + timedelta(days=2), now)
    received = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            received.append(ws.recv(timeout=5))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    told = "".join(received)
    assert 'id="live" hx-swap-oob="true"' in told and "spam links" in told and "ws-connect" not in told
    with pytest.raises(InvalidStatus):
        open_socket(session)


@pytest.mark.slow
def test_a_mute_tells_the_page_to_fetch_its_composer_and_leaves_the_socket_open(web_server):
    admin, customer = make_user(Role.ADMIN), make_user()
    session = LiveSession(web_server.url)
    login(session, customer.email)
    ws = open_socket(session)
    until_hearing(ws, customer.id)
    with app_context():
        now = utcnow()
        with write_transaction():
            sanctions.impose(db.session.get(User, admin.id), customer.id, "mute", "shouting",
                             now + timedelta(hours=1), now)
    told = ws.recv(timeout=5)  # the page is told to fetch its composer again...
    assert told == STANDING_CHANGED
    with pytest.raises(TimeoutError):  # ...and its socket stays open
        ws.recv(timeout=1.5)
    ws.ping().wait(5)
    ws.close()


def test_a_draining_close_keeps_what_is_queued_a_plain_one_drops_it():
    from app.realtime.hub import RECONNECT, Connection

    told, dropped = Connection(1, 8), Connection(1, 8)
    for conn, drain in ((told, True), (dropped, False)):
        conn.offer("<div id='live'>banned</div>")
        conn.request_close(RECONNECT, drain)
        assert conn.close_code == RECONNECT and not conn.offer("later")
    assert told.take() == "<div id='live'>banned</div>" and told.take() is None
    assert dropped.take() is None
