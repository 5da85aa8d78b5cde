"""A page's WebSocket once its handshake is done: frames in and out, pings, the closing handshake.

flask-sock answers the handshake inside the HTTP request; the connection is then served outside
the request by one greenlet of its own (``socket.websocket``), which is the only one to read or
write it. Nothing of the request stays with the connection: not its WSGI environ, its contexts or
the user loaded at login, nor the deep stack of a request that lasts as long as the socket does.
An open socket is this object, its greenlet, its frame protocol (wsproto) and its mailbox.

Reading needs no greenlet of its own either: the event loop rings the socket's bell when the page
has sent something, the same bell the hub rings when a fragment is queued, and the greenlet reads
what came when it wakes up. Needs gevent (the web server's worker class) and plain TCP from the
proxy in front (TLS ends there: ``deploy/``)."""
from __future__ import annotations

import math
import socket as socket_module
import time

from gevent import get_hub
from gevent.socket import wait_read
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.utilities import LocalProtocolError

READ = 1  # the event loop's "readable" (libev's EV_READ, libuv's UV_READABLE)
RECEIVE_BYTES = 4096
MESSAGE_TOO_BIG = 1009
PING_UNANSWERED = 1008  # policy violation: the page did not answer the last ping


class Frames:
    """The WebSocket protocol over one connected socket, for the one greenlet that serves it.

    ``bell`` is the socket's wake-up (a gevent ``Event``): rung here when the page has sent
    something or the connection ended. ``ping_every`` (seconds, or None): a ping that interval
    after the last one, and the connection closed with 1008 if the page did not answer the
    previous ping. A message longer than ``max_message`` bytes closes it with 1009. A write that
    cannot finish within ``send_timeout`` seconds (a client that stopped reading) raises
    ``OSError``."""

    __slots__ = ("sock", "bell", "connected", "_protocol", "_watcher", "_readable", "_ping_every",
                 "_next_ping", "_pong_seen", "_max_message", "_parts", "_size")

    def __init__(self, sock: socket_module.socket, bell, *, ping_every: float | None, max_message: int,
                 send_timeout: float):
        sock.settimeout(send_timeout)
        self.sock, self.bell = sock, bell
        self.connected = True
        self._protocol = Connection(ConnectionType.SERVER)
        self._readable = False
        self._watcher = get_hub().loop.io(sock.fileno(), READ)
        self._watcher.start(self._ring)
        self._ping_every = ping_every
        self._next_ping = time.monotonic() + ping_every if ping_every else math.inf
        self._pong_seen = True
        self._max_message = max_message
        self._parts: list[str] | None = None  # a text message that came in several frames
        self._size = 0

    def _ring(self) -> None:
        """In the event loop: the page sent something (or closed). Reading is the greenlet's job;
        the watcher rests until then (it would ring again on every turn of the loop)."""
        self._watcher.stop()
        self._readable = True
        self.bell.set()

    def wait(self, timeout: float) -> None:
        """Sleep until the bell rings, ``timeout`` seconds pass or the next ping is due."""
        self.bell.wait(max(0.0, min(timeout, self._next_ping - time.monotonic())))

    def receive(self) -> list[str]:
        """What the page sent since the last call: its text messages, in order. Its pings are
        answered and its close is answered (``connected`` is then False); a ping of ours is sent if
        one is due. Never waits for the page."""
        messages: list[str] = []
        if self._readable and self.connected:
            self._readable = False
            try:
                data = self.sock.recv(RECEIVE_BYTES)  # the loop said readable: this does not wait
            except OSError:  # reset by the page's side: gone
                data = b""
            if not data:
                self.connected = False
                return messages
            self._protocol.receive_data(data)
            self._handle(messages)
            if self.connected:
                self._watcher.start(self._ring)
        if self.connected and time.monotonic() >= self._next_ping:
            self._ping()
        return messages

    def send(self, text: str) -> None:
        self._write(self._protocol.send(TextMessage(data=text)))

    def close(self, code: int, reason: str, wait: float) -> None:
        """The closing handshake from our side: our close frame, then up to ``wait`` seconds for
        the page's answer, so that nothing it sent meanwhile turns our close into a reset (the
        page would see 1006 instead of ``code``)."""
        if not self.connected:
            return
        self.connected = False
        self._write(self._protocol.send(CloseConnection(code=code, reason=reason)))
        deadline = time.monotonic() + wait
        while self._protocol.state is not ConnectionState.CLOSED:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                wait_read(self.sock.fileno(), left)
                data = self.sock.recv(RECEIVE_BYTES)
            except OSError:  # timed out, or reset
                return
            if not data:
                return
            self._protocol.receive_data(data)
            for _ in self._protocol.events():  # the page's close ends the loop; anything else is dropped
                pass

    def abort(self) -> None:
        """End the connection without a closing handshake (a write failed): the page sees 1006
        and reconnects."""
        self.connected = False
        try:
            self.sock.shutdown(socket_module.SHUT_RDWR)
        except OSError:
            pass

    def release(self) -> None:
        """The connection's descriptor and watcher go; always called once the greenlet is done."""
        self.connected = False
        self._watcher.stop()
        self._watcher.close()
        self.sock.close()

    def _handle(self, messages: list[str]) -> None:
        out = b""
        try:
            for event in self._protocol.events():
                if isinstance(event, CloseConnection):
                    out += self._protocol.send(event.response())
                    self.connected = False
                    break
                if isinstance(event, Ping):
                    out += self._protocol.send(event.response())
                elif isinstance(event, Pong):
                    self._pong_seen = True
                elif isinstance(event, (TextMessage, BytesMessage)):
                    self._size += len(event.data)
                    if self._size > self._max_message:
                        out += self._protocol.send(CloseConnection(code=MESSAGE_TOO_BIG, reason="message too big"))
                        self.connected = False
                        break
                    if isinstance(event, TextMessage):  # a page sends text only: bytes are counted, not kept
                        if self._parts is None:
                            self._parts = []
                        self._parts.append(event.data)
                    if event.message_finished:
                        if self._parts is not None:
                            messages.append("".join(self._parts))
                        self._parts, self._size = None, 0
        except LocalProtocolError:  # nothing more may be sent: the connection is over
            self.connected = False
        if out:
            self._write(out)

    def _ping(self) -> None:
        if not self._pong_seen:
            self.close(PING_UNANSWERED, "ping unanswered", wait=0)
            return
        self._pong_seen = False
        self._next_ping = time.monotonic() + self._ping_every
        self._write(self._protocol.send(Ping()))

    def _write(self, data: bytes) -> None:
        if data:
            self.sock.sendall(data)
