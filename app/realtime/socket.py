"""``/ws``: the page's one WebSocket. Push only: clients send over plain HTTP (hx-post).

Transport: the route and its loop, whole frames, the wake-up, pings, the hub's fan-out. What the
socket's signals mean for the domain (presence, typing) is ``services.pages``."""
from __future__ import annotations

import json
import logging
import _thread
import random
import selectors
import socket as socket_module
import threading
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import redis
from flask import abort, current_app, request
from gevent import monkey
from gevent.socket import wait_read
from flask_login import current_user
from simple_websocket import ConnectionClosed

from .. import database
from ..clock import utcnow
from ..extensions import db, sock
from ..metrics import SOCKET_WRITE_SECONDS
from ..redis_client import get_redis
from ..services import pages
from ..services.moderation import sanctions
from .hub import get_hub
from .typing import TypingSignals
from .typing_indicator import typing_signalled

log = logging.getLogger(__name__)


def check_socket_request() -> None:
    """Before the handshake: a logged-in user, from one of our own pages."""
    if not current_user.is_authenticated:
        abort(401)
    if current_user.is_client and "ban" in sanctions.running(current_user.id, utcnow()):
        abort(403)  # a banned client's page is told why, and has no socket
    origin = request.headers.get("Origin")
    if origin is None:
        abort(403)
    allowed = {request.host_url.rstrip("/"), *current_app.config["WS_ALLOWED_ORIGINS"]}
    try:
        parts = urlsplit(origin)
    except ValueError:  # not an address at all (an unclosed IPv6 host, "http://[::1"): not ours
        abort(403)
    if f"{parts.scheme.replace('ws', 'http')}://{parts.netloc}" not in allowed and origin not in allowed:
        abort(403)


class _WholeFrames:
    """simple-websocket writes frames with ``socket.send`` and ignores short writes, which cut
    frames in two when a client's TCP buffer fills; its pinger also writes from another
    greenlet. Every write goes through ``sendall`` under one lock instead."""

    def __init__(self, sock, send_timeout: float):
        self._sock = sock
        self._lock = threading.Lock()
        # A client that stops reading must not hold its handler (and the pinger) forever:
        # a write that cannot finish in time fails and the socket is dropped.
        sock.settimeout(send_timeout)

    def send(self, data):
        with self._lock:
            self._sock.sendall(data)
        return len(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


@sock.route("/ws")
def websocket(ws):
    ws.sock = _WholeFrames(ws.sock, current_app.config["WS_SEND_TIMEOUT_SECONDS"])
    user_id = current_user.id
    hub, r = get_hub(), get_redis()
    # One bell for everything that wakes the handler: simple-websocket's reader rings it when the
    # page sends something or the connection ends, the hub when a fragment is queued or the
    # socket must close.
    conn = hub.register(user_id, bell=ws.event)
    if not _opened(ws, r, user_id, conn.id):
        hub.unregister(conn)
        return
    alive_every = current_app.config["SOCKET_ALIVE_SECONDS"]
    last_alive = time.monotonic() - random.uniform(0, alive_every)  # spread the heartbeats
    typing = TypingSignals(every=current_app.config["TYPING_RECORD_SECONDS"],
                           gap=current_app.config["TYPING_SWITCH_SECONDS"])
    try:
        # The handler sleeps until the bell rings, a pending typing write falls due or the next
        # heartbeat, whichever comes first. A fragment queued while it was busy is sent before
        # it sleeps again (reading the page's messages may have silenced the bell).
        while conn.close_code is None and ws.connected:
            if not conn.pending():
                now = time.monotonic()
                conn.bell.wait(typing.wait(now, longest=max(0.0, last_alive + alive_every - now)))
            conn.bell.clear()
            fragment, came = conn.take_with_time()
            while fragment is not None and ws.connected:
                ws.send(fragment)
                SOCKET_WRITE_SECONDS.observe(time.monotonic() - came)
                fragment, came = conn.take_with_time()
            if not ws.connected:
                break
            typed_in = _typing_seen(ws)
            if typed_in is not NOT_TYPING:
                typing.seen(typed_in, time.monotonic())
                typing_signalled(user_id, typed_in, time.monotonic())
            if typing.due(time.monotonic()):
                _record_activity(user_id, typing.take(time.monotonic()))
            if time.monotonic() - last_alive >= alive_every:
                _still_alive(r, user_id, conn.id)
                last_alive = time.monotonic()
        if conn.close_code is not None and ws.connected:
            fragment = conn.take()  # a closing that drains: the page's last word first
            while fragment is not None:
                ws.send(fragment)
                fragment = conn.take()
            ws.close(reason=conn.close_code, message="reconnect")
    except ConnectionClosed:
        pass
    except OSError as exc:  # a send that timed out (stalled client) or a reset connection
        log.info("dropping socket of user %s: %s", user_id, exc)
        _shutdown(ws)
    finally:
        hub.unregister(conn)
        _closed(r, user_id, conn.id)


TRY_AGAIN_LATER = 1013  # the htmx ws extension reconnects on it, after a backoff


def _opened(ws, r, user_id: int, socket_id: str) -> bool:
    """Record the page's socket (presence); False, the socket closed with 1013, when the database
    or Redis cannot be reached now (the page reconnects a little later and catches up then)."""
    try:
        pages.opened(r, user_id, socket_id, utcnow())
    except Exception as exc:
        reason = database.unavailable(exc)
        if reason is not None:
            reason = f"database {reason}"
        elif isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
            reason = "Redis down"
        else:
            raise
        log.warning("socket of user %s refused for now, %s: %s", user_id, reason, str(exc).splitlines()[0][:200])
        ws.close(reason=TRY_AGAIN_LATER, message="try again later")
        return False
    finally:
        # The socket lives for hours: its database connection goes back to the pool, and the
        # session object (with what it loaded) is dropped rather than kept idle beside it.
        db.session.remove()
    return True


def _still_alive(r, user_id: int, socket_id: str) -> None:
    """Refresh presence; a Redis hiccup must not cost the page its socket."""
    try:
        pages.alive(r, user_id, socket_id, utcnow())
    except Exception:  # noqa: BLE001
        log.warning("could not refresh presence of user %s", user_id, exc_info=True)


def _shutdown(ws) -> None:
    """End the reader thread too: the page sees an abnormal close and reconnects."""
    try:
        ws.sock.shutdown(socket_module.SHUT_RDWR)
    except OSError:
        pass
    ws.connected = False


NOT_TYPING = object()


def _typing_seen(ws, limit: int = 100):
    """Pages send only typing signals (throttled by the page); read them all so nothing piles up.
    Returns the conversation typed in (None if the page did not say), or NOT_TYPING."""
    seen = NOT_TYPING
    for _ in range(limit):
        data = ws.receive(timeout=0)
        if data is None:
            break
        if isinstance(data, str) and '"typing"' in data[:100]:
            seen = _conversation_of(data)
    return seen


def _conversation_of(data: str) -> int | None:
    try:
        value = json.loads(data).get("conversation")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and 0 < value < 2**31 else None


def _record_activity(user_id: int, conversation_id: int | None) -> None:
    """Typing is activity and locks the profile typed for; at most one write per interval."""
    try:
        pages.typed(user_id, conversation_id, utcnow())
    except Exception:  # noqa: BLE001 - activity is best effort, the socket stays
        log.warning("could not record typing of user %s", user_id, exc_info=True)
    finally:
        db.session.remove()  # the pushes read after the commit: the connection back to the pool, no idle session kept


def _closed(r, user_id: int, socket_id: str) -> None:
    try:
        pages.closed(r, user_id, socket_id, utcnow())
    except Exception:  # noqa: BLE001 - a closing socket must not raise into the server
        log.exception("could not record socket close for user %s", user_id)
    finally:
        db.session.remove()


class BareThread:
    """simple-websocket's reader, started with ``_thread`` (a bare greenlet under gevent): none
    of ``threading.Thread``'s bookkeeping (its events, lock and registry entry) for each of
    thousands of sockets. Given to simple-websocket as its ``thread_class``."""

    def __init__(self, target):
        self._target = target
        self.name = "websocket-reader"

    def start(self) -> None:
        _thread.start_new_thread(self._target, ())


class OneSocketWait:
    """simple-websocket's reader waits on its one socket for reading, until the next ping, through
    a selector it makes for each socket. Under gevent this one waits on the event loop directly
    (``gevent.socket.wait_read``): none of a selector's tables and event per open socket. Given to
    simple-websocket as its ``selector_class`` when gevent has patched the process."""

    __slots__ = ("_key",)

    def __init__(self):
        self._key = None

    def register(self, fileobj, events, data=None):
        self._key = selectors.SelectorKey(fileobj, fileobj.fileno(), events, data)
        return self._key

    def select(self, timeout=None):
        try:
            wait_read(self._key.fd, None if timeout is None else max(0.0, timeout))
        except socket_module.timeout:
            return []
        return [(self._key, selectors.EVENT_READ)]

    def close(self) -> None:
        self._key = None


def _gevent_patched() -> bool:
    return monkey.is_module_patched("socket")


class JitteredPings(Mapping):
    """``SOCK_SERVER_OPTIONS`` whose ping interval is drawn anew for each socket, within
    ``jitter`` (a fraction) of the configured one. Sockets opened together (a restart, a network
    blip reconnecting everyone) would otherwise be pinged in the same instant every interval: a
    burst of work that delays every push of that moment, again and again."""

    def __init__(self, options, jitter: float):
        self._options, self._jitter = dict(options), jitter

    def __getitem__(self, key):
        value = self._options[key]
        if key == "ping_interval" and value and self._jitter:
            return value * random.uniform(1 - self._jitter, 1 + self._jitter)
        return value

    def __iter__(self):
        return iter(self._options)

    def __len__(self):
        return len(self._options)


def init_app(app) -> None:
    options = app.config.get("SOCK_SERVER_OPTIONS") or {}
    if not isinstance(options, JitteredPings):  # flask-sock unpacks it for every new socket
        options = {"thread_class": BareThread, **({"selector_class": OneSocketWait} if _gevent_patched() else {}),
                   **options}
        app.config["SOCK_SERVER_OPTIONS"] = JitteredPings(options, app.config.get("WS_PING_JITTER", 0.2))

    @app.before_request
    def guard_socket():
        if request.path == "/ws":
            check_socket_request()
