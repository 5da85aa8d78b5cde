"""The server pings every open socket and drops one whose page stopped answering: a frozen
phone or a dead network does not keep its socket (and its presence) forever. A raw connection on
a real server shows it frame by frame: a ping comes within the interval; left unanswered, the
next interval closes the socket with 1008."""
from __future__ import annotations

import base64
import os
import socket
import struct
import time

import pytest

from tests.support.factories import make_user
from tests.support.http import LiveSession, login
from tests.support.processes import WebServer

PING, CLOSE = 0x9, 0x8


@pytest.fixture
def pinging_server(app):
    server = WebServer(WS_PING_INTERVAL="1", WS_PING_JITTER="0").start()
    yield server
    server.stop()


def _raw_socket(session: LiveSession, port: int) -> socket.socket:
    """The page's WebSocket by hand: the upgrade, then frames read as they come, none answered."""
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    raw.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                 f"Origin: http://127.0.0.1:{port}\r\nCookie: {cookie}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += raw.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return raw


def _frame(raw: socket.socket) -> tuple[int, bytes]:
    """The next frame from the server (never masked): its opcode and payload."""
    first, second = _exactly(raw, 2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", _exactly(raw, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", _exactly(raw, 8))[0]
    return first & 0x0F, _exactly(raw, length)


def _exactly(raw: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = raw.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed without a close frame")
        data += chunk
    return data


@pytest.mark.slow
def test_an_unanswered_ping_closes_the_socket(pinging_server):
    session = LiveSession(pinging_server.url)
    login(session, make_user().email)
    raw = _raw_socket(session, pinging_server.port)
    started = time.monotonic()
    frames = []
    while True:
        opcode, payload = _frame(raw)
        frames.append(opcode)
        if opcode == CLOSE:
            break
    assert frames[0] == PING, frames                       # pinged within the interval...
    assert struct.unpack("!H", payload[:2])[0] == 1008     # ...then closed for not answering
    assert time.monotonic() - started < 8
    raw.close()
