"""WebSockets to a real server."""
from __future__ import annotations

import time

from websockets.sync.client import connect

from tests.support.http import LiveSession


def open_socket(session: LiveSession, origin: str | None = None):
    """The page's socket, opened with the session's cookies (and our origin unless told otherwise)."""
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    return connect(session.base_url.replace("http", "ws") + "/ws", origin=origin or session.base_url,
                   additional_headers={"Cookie": cookie}, open_timeout=5, legacy=True)


def until_hearing(ws, user_id: int, timeout: float = 10.0) -> None:
    """Return once the server pushes to this socket: its handler is registered and its process
    subscribed (a process's first socket starts the subscription, which takes a moment). Probes
    published before that are lost, so one goes out every few tenths of a second."""
    from app.realtime.hub import publish
    from app.redis_client import get_redis
    from tests.support.context import app_context

    deadline = time.monotonic() + timeout
    probe = 0
    while time.monotonic() < deadline:
        probe += 1
        with app_context():
            publish(get_redis(), user_id, f'<div id="probe-{probe}"></div>')
        try:
            while True:
                if f"probe-{probe}" in ws.recv(timeout=0.3):
                    return
        except TimeoutError:
            continue
    raise AssertionError("the socket heard no push")


def receive_until(ws, needle: str, timeout: float = 10.0) -> str:
    """The first frame containing ``needle`` (an AssertionError listing the others after ``timeout``)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            data = ws.recv(timeout=max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            continue
        seen.append(data)
        if needle in data:
            return data
    raise AssertionError(f"{needle!r} not pushed; got {seen!r}")


def queued(conn, timeout: float = 0.5) -> list[str]:
    """Everything queued for a hub connection (a socket's mailbox) until nothing more comes for
    ``timeout`` seconds."""
    got = []
    while (fragment := conn.next(timeout)) is not None:
        got.append(fragment)
    return got
