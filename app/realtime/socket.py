"""``/ws``: the page's one WebSocket. Push only: clients send over plain HTTP (hx-post).

Transport: the route, the socket's greenlet and its loop, the hub's fan-out (the frames
themselves: ``frames``). What the socket's signals mean for the domain (presence, typing) is
``services.pages``."""
from __future__ import annotations

import json
import logging
import random
import time
from urllib.parse import urlsplit

import redis
from flask import abort, current_app, request
from flask_login import current_user
from gevent import sleep, spawn_raw

from .. import database
from ..clock import utcnow
from ..extensions import db, sock
from ..metrics import SOCKET_WRITE_SECONDS
from ..redis_client import get_redis
from ..runtime import under_gevent
from ..services import pages
from ..services.moderation import sanctions
from .frames import Frames
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


@sock.route("/ws")
def websocket(ws):
    """flask-sock has answered the handshake: the page's presence is recorded, then the
    connection is handed over to a greenlet of its own and the request ends (``frames``)."""
    config = current_app.config
    user_id = current_user.id
    hub, r = get_hub(), get_redis()
    conn = hub.register(user_id)
    if not _opened(ws, r, user_id, conn.id):
        hub.unregister(conn)
        return
    try:
        frames = Frames(ws.sock.dup(), conn.bell, max_message=config["WS_MAX_MESSAGE_BYTES"],
                        ping_every=ping_interval(config["WS_PING_INTERVAL_SECONDS"], config["WS_PING_JITTER"]),
                        send_timeout=config["WS_SEND_TIMEOUT_SECONDS"])
    except OSError:  # the page went away during the handshake
        hub.unregister(conn)
        _closed(r, user_id, conn.id)
        return
    ws.connected = False  # flask-sock then sends nothing on the request's descriptor; gunicorn closes that one
    spawn_raw(_serve, current_app._get_current_object(), hub, frames, conn, user_id, r)


def ping_interval(every: float, jitter: float) -> float | None:
    """A new socket's ping interval: ``every`` seconds give or take ``jitter`` (a fraction), drawn
    for each socket, so sockets opened together (a restart, a network blip reconnecting everyone)
    are not pinged in the same instant every interval. None: no pings."""
    return every * random.uniform(1 - jitter, 1 + jitter) if every else None


def _serve(app, hub, frames: Frames, conn, user_id: int, r) -> None:
    """The socket's life, in its own greenlet: the hub's fragments out, the page's typing signals
    in, presence kept fresh, until either side closes."""
    config = app.config
    alive_every = config["SOCKET_ALIVE_SECONDS"]
    last_alive = time.monotonic() - random.uniform(0, alive_every)  # spread the heartbeats
    typing = TypingSignals(every=config["TYPING_RECORD_SECONDS"], gap=config["TYPING_SWITCH_SECONDS"])
    try:
        # The greenlet sleeps until the bell rings (the page sent something, the hub queued a
        # fragment or the socket must close), a pending typing write falls due, the next ping or
        # the next heartbeat, whichever comes first. A fragment queued while it was busy is sent
        # before it sleeps again.
        while conn.close_code is None and frames.connected:
            if not conn.pending():
                now = time.monotonic()
                frames.wait(typing.wait(now, longest=max(0.0, last_alive + alive_every - now)))
            conn.bell.clear()
            typed_in = _typing_seen(frames.receive())
            fragment, came = conn.take_with_time()
            while fragment is not None and frames.connected:
                frames.send(fragment)
                SOCKET_WRITE_SECONDS.observe(time.monotonic() - came)
                fragment, came = conn.take_with_time()
            if not frames.connected:
                break
            if typed_in is not NOT_TYPING:
                typing.seen(typed_in, time.monotonic())
                with app.app_context():
                    typing_signalled(user_id, typed_in, time.monotonic())
            if typing.due(time.monotonic()):
                with app.app_context():
                    _record_activity(user_id, typing.take(time.monotonic()))
            if time.monotonic() - last_alive >= alive_every:
                with app.app_context():
                    _still_alive(r, user_id, conn.id)
                last_alive = time.monotonic()
        if conn.close_code is not None and frames.connected:
            fragment = conn.take()  # a closing that drains: the page's last word first
            while fragment is not None:
                frames.send(fragment)
                fragment = conn.take()
            frames.close(conn.close_code, "reconnect", wait=config["WS_CLOSE_WAIT_SECONDS"])
    except OSError as exc:  # a send that timed out (stalled client) or a reset connection
        log.info("dropping socket of user %s: %s", user_id, exc)
        frames.abort()
    except Exception:  # noqa: BLE001 - a greenlet of its own: nothing above it would log this
        log.exception("socket of user %s failed", user_id)
        frames.abort()
    finally:
        hub.unregister(conn)
        frames.release()
        with app.app_context():
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


NOT_TYPING = object()


def _typing_seen(messages: list[str]):
    """Pages send only typing signals (throttled by the page). Returns the conversation typed in
    last (None if the page did not say), or NOT_TYPING."""
    seen = NOT_TYPING
    for data in messages:
        if '"typing"' in data[:100]:
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


def close_all(app, within: float) -> int:
    """The process is stopping: every socket it holds is closed with 1012 (its page reconnects,
    to another process, and catches up) and recorded closed, waiting up to ``within`` seconds
    for them. Returns how many were still open then (they drop when the process exits)."""
    hub = app.extensions["hub"]
    hub.kick(None)
    deadline = time.monotonic() + within
    while hub.socket_count() and time.monotonic() < deadline:
        sleep(0.05)
    return hub.socket_count()


class HandedOver:
    """simple-websocket's reader thread, never started: once the handshake is answered the
    connection is read by its own greenlet (``Frames``). Given to simple-websocket, through
    flask-sock's ``SOCK_SERVER_OPTIONS``, as its ``thread_class``."""

    def __init__(self, target):
        self.name = "handed-over"

    def start(self) -> None:
        pass


def init_app(app) -> None:
    app.config["SOCK_SERVER_OPTIONS"] = {"thread_class": HandedOver}

    @app.before_request
    def guard_socket():
        if request.path == "/ws":
            check_socket_request()
            if not under_gevent():  # a socket is served by a greenlet of its own (gunicorn.conf.py's worker)
                abort(501)
            if get_hub().socket_count() >= app.config["WS_MAX_SOCKETS"]:
                abort(503)  # the page tries again after a while, maybe on another process
