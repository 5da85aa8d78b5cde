"""The bell's count is pushed to every open page of its user on each change, from a real server:
a new notification raises it in both tabs; marking read in one tab lowers it in the other."""
from __future__ import annotations

from datetime import datetime

import pytest

from app.database import write_transaction
from app.services import notifications
from tests.support.context import app_context
from tests.support.factories import make_user
from tests.support.http import LiveSession, csrf_from, login
from tests.support.sockets import open_socket, receive_until, until_hearing

NOW = datetime(2026, 12, 6, 12, 0, 0)


@pytest.mark.slow
def test_every_tab_hears_the_new_count(web_server):
    user = make_user()
    first, second = LiveSession(web_server.url), LiveSession(web_server.url)
    login(first, user.email)
    login(second, user.email)
    ws_first, ws_second = open_socket(first), open_socket(second)
    until_hearing(ws_first, user.id)
    until_hearing(ws_second, user.id)

    with app_context():
        with write_transaction():
            row = notifications.notify(user.id, "ticket", "ticket:1", now=NOW,
                                       params={"ticket_id": 1, "subject": "s", "action": "created"})
        notification_id = row.id
    for ws in (ws_first, ws_second):
        assert 'data-unread="1"' in receive_until(ws, 'id="notif-count"', timeout=5)

    csrf = csrf_from(first.get("/notifications").text)
    answer = first.post(f"/notifications/{notification_id}/read", data={"where": "panel"},
                        headers={"HX-Request": "true", "X-CSRFToken": csrf})
    assert answer.status_code == 200
    assert 'data-unread="0"' in receive_until(ws_second, 'id="notif-count"', timeout=5)
    ws_first.close()
    ws_second.close()


@pytest.mark.slow
def test_the_servers_metrics_time_each_push_to_its_socket_write(web_server):
    """``/metrics`` of the process holding the socket: one more write timed for each push."""
    import re

    def writes() -> float:
        text = LiveSession(web_server.url).get("/metrics").text
        found = re.search(r"^switchboard_push_socket_write_seconds_count ([0-9.e+]+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    user = make_user()
    session = LiveSession(web_server.url)
    login(session, user.email)
    ws = open_socket(session)
    until_hearing(ws, user.id)
    before = writes()
    with app_context():
        with write_transaction():
            notifications.notify(user.id, "ticket", "ticket:2", now=NOW,
                                 params={"ticket_id": 2, "subject": "s", "action": "created"})
    receive_until(ws, 'id="notif-count"', timeout=5)
    assert writes() >= before + 1
    ws.close()
