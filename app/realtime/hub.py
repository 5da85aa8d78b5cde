"""The process's fan-out hub.

One Redis pub/sub subscription per process (the pattern of every user's channel plus a control
channel, both under the deployment's prefix: ``redis_client.Names``); a dispatcher maps each
published fragment to the sockets this process holds for that user and only appends it to the
socket's bounded mailbox and rings its bell. The socket's own greenlet is its only writer, so one
stuck client cannot stall the others: when its mailbox overflows it is closed with 1012 and the
page reconnects and catches up from the database.

A fragment for a user whose socket this process holds is queued for it directly by the
publisher, without the round trip through Redis: it leaves at the request's next pause (its
Redis publish) instead of after everything else the request renders. Each published fragment
carries its process's origin, and a hub skips the fragments it has already delivered itself.

Only while the subscription stands: a page catches up from the newest message it shows, so a
fragment delivered here while other processes' fragments could not arrive (Redis down, the
subscription being re-made) would hide them from its catch-up. While it is down nothing is
delivered; once it is back every socket is closed with 1012 and its page catches up.

What concerns many users at once and is the same for every process (queue positions moved) is
one broadcast on the control channel: each process then does its part for its own sockets
(``on_broadcast``), instead of one message per user through Redis.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import defaultdict, deque

import redis
from flask import Flask, current_app

from ..metrics import SOCKETS
from ..redis_client import Names, names

log = logging.getLogger(__name__)

ORIGIN_END = "\n"  # a published fragment is "<origin>\n<fragment>"
RECONNECT = 1012  # "service restart": the htmx ws extension reconnects on it


class Connection:
    """One socket's mailbox: the fragments waiting for the socket's greenlet, and the bell that
    wakes it. The socket's frames ring the same bell when the page sends something or the
    connection ends (``frames.Frames``): one wake-up for both, and nothing more per socket than a
    deque."""

    __slots__ = ("id", "user_id", "size", "close_code", "bell", "_fragments")

    def __init__(self, user_id: int, size: int, bell: threading.Event | None = None):
        self.id = uuid.uuid4().hex
        self.user_id = user_id
        self.size = size
        self.close_code: int | None = None
        self.bell = bell if bell is not None else threading.Event()
        self._fragments: deque[tuple[str, float]] = deque()  # each with when it came (monotonic)

    def offer(self, fragment: str) -> bool:
        """Queue a fragment; False once the socket is being closed (it will catch up later)."""
        if self.close_code is not None:
            return False
        if len(self._fragments) >= self.size:
            self.request_close(RECONNECT)
            return False
        self._fragments.append((fragment, time.monotonic()))
        self.bell.set()
        return True

    def request_close(self, code: int, drain: bool = False) -> None:
        """Close the socket; with ``drain``, after sending what is queued (a last word to the page)."""
        if self.close_code is None:
            self.close_code = code
            if not drain:
                self._fragments.clear()  # what it missed is in the database: free the memory now
            self.bell.set()

    def pending(self) -> bool:
        return bool(self._fragments)

    def take(self) -> str | None:
        """The oldest waiting fragment, or None."""
        try:
            return self._fragments.popleft()[0]
        except IndexError:
            return None

    def take_with_time(self) -> tuple[str | None, float]:
        """The oldest waiting fragment and when it came (``time.monotonic()``); (None, 0) if none."""
        try:
            return self._fragments.popleft()
        except IndexError:
            return None, 0.0

    def next(self, timeout: float) -> str | None:
        """The oldest waiting fragment, waiting up to ``timeout`` seconds for one (None: nothing
        came, or the socket is being closed)."""
        deadline = time.monotonic() + timeout
        while True:
            fragment = self.take()
            if fragment is not None or self.close_code is not None:
                return fragment
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.bell.wait(left)
            self.bell.clear()


class Hub:
    def __init__(self, redis_url: str, names: Names, queue_size: int = 256, retry_at_most: float = 1.0):
        self.redis_url = redis_url
        self.names = names  # the deployment's channels: another deployment's pushes are not heard
        self.queue_size = queue_size
        self.retry_at_most = retry_at_most  # seconds between attempts to subscribe again, at most
        self._sockets: dict[int, set[Connection]] = defaultdict(set)
        self._lock = threading.Lock()
        self._count = 0
        self._handlers: dict = {}  # broadcast name -> handler
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.listening = False  # the subscription stands: local deliveries cannot overtake others
        self._held_back = False  # a fragment was not delivered while it did not
        self._new_origin()

    def _new_origin(self) -> None:
        """This process, in what it publishes (a forked child gets its own on its first publish)."""
        self._pid = os.getpid()
        self.origin = uuid.uuid4().hex[:16]
        self._own_prefix = (self.origin + ORIGIN_END).encode()

    # -- sockets -------------------------------------------------------------------
    def register(self, user_id: int, bell: threading.Event | None = None) -> Connection:
        self._ensure_listening()
        conn = Connection(user_id, self.queue_size, bell)
        with self._lock:
            self._sockets[user_id].add(conn)
            self._count += 1
        SOCKETS.inc()
        return conn

    def unregister(self, conn: Connection) -> None:
        with self._lock:
            conns = self._sockets.get(conn.user_id)
            if conns is not None and conn in conns:
                conns.discard(conn)
                self._count -= 1
                SOCKETS.dec()
                if not conns:
                    del self._sockets[conn.user_id]

    def socket_count(self) -> int:
        """How many sockets this process holds."""
        return self._count

    def local_user_ids(self) -> set[int]:
        """The users whose sockets this process holds."""
        with self._lock:
            return set(self._sockets)

    def on_broadcast(self, name: str, handler) -> None:
        """Call ``handler()`` (in the subscription's thread: it must return quickly) whenever any
        process broadcasts ``name`` (``broadcast``)."""
        self._handlers[name] = handler

    def broadcast(self, r: redis.Redis, name: str) -> None:
        """Tell every web process (this one included) that ``name`` happened: one message for
        all, each process acting for its own sockets."""
        r.publish(self.names.control_channel, json.dumps({"broadcast": name}))

    # -- fan-out -------------------------------------------------------------------
    def publish(self, r: redis.Redis, user_id: int, fragment: str) -> None:
        """To the user's sockets held by other processes through Redis, then to those in this
        process: nothing here either when Redis refused it (a page catches up from the newest
        message it shows, so one shown here while the others' were lost would hide them)."""
        self._through_redis(lambda: r.publish(self.names.user_channel(user_id), envelope(self.origin, fragment)),
                            [user_id])
        self._here(user_id, fragment)

    def publish_all(self, r: redis.Redis, fragments: list[tuple[int, str]]) -> None:
        """``publish`` for several (user id, fragment) pairs, in order, with one round trip to Redis."""
        def send() -> None:
            pipe = r.pipeline(transaction=False)
            for user_id, fragment in fragments:
                pipe.publish(self.names.user_channel(user_id), envelope(self.origin, fragment))
            pipe.execute()

        self._through_redis(send, [user_id for user_id, _ in fragments])
        for user_id, fragment in fragments:
            self._here(user_id, fragment)

    def _through_redis(self, send, user_ids: list[int]) -> None:
        if self._pid != os.getpid():
            self._new_origin()
        try:
            send()
        except redis.RedisError:
            self.listening = False  # Redis is gone: its subscription too, whether it noticed yet or not
            if any(user_id in self._sockets for user_id in user_ids):
                self._held_back = True  # their pages here missed it: they catch up once live again
            raise

    def _here(self, user_id: int, fragment: str) -> None:
        if self.listening:
            self.deliver(user_id, fragment)
        elif user_id in self._sockets:
            self._held_back = True

    def deliver(self, user_id: int, fragment: str) -> None:
        if user_id not in self._sockets:  # most users have no socket in this process
            return
        with self._lock:
            targets = list(self._sockets.get(user_id, ()))
        for conn in targets:
            closing = conn.close_code is not None
            if not conn.offer(fragment) and not closing:
                self.dropped += 1
                log.warning("socket queue full, closing socket of user %s", user_id)

    def kick(self, user_id: int | None, drain: bool = False) -> None:
        with self._lock:
            targets = [c for uid, cs in self._sockets.items() if user_id in (None, uid) for c in cs]
        for conn in targets:
            conn.request_close(RECONNECT, drain)

    def stop(self, r: redis.Redis, timeout: float = 5.0) -> None:
        """End this hub's subscription (a process that goes on without it: tests)."""
        if self._thread is not None:
            r.publish(self.names.control_channel, json.dumps({"stop": self.origin}))
            self._thread.join(timeout)

    def _ensure_listening(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._listen_forever, name="sb-hub", daemon=True)
                self._thread.start()

    def _listen_forever(self) -> None:
        backoff = 0.2
        first = True
        failures = 0
        while True:
            try:
                client = redis.Redis.from_url(self.redis_url, health_check_interval=30)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(self.names.user_channels)
                pubsub.subscribe(self.names.control_channel)
                self._live(catch_up=not first)
                first = False
                backoff, failures = 0.2, 0
                for message in pubsub.listen():
                    if not self.listening:  # a publish failed, yet the subscription stands: live again
                        self._live(catch_up=False)
                    if not self._dispatch(message):
                        self.listening = False
                        pubsub.close()
                        return
            except Exception as exc:  # noqa: BLE001 - the listener must outlive Redis hiccups
                self.listening = False
                if not failures:
                    log.exception("hub subscription lost; reconnecting")
                else:  # one line per attempt while Redis stays away, not a traceback each
                    log.warning("hub subscription lost; attempt %d failed: %s", failures, exc)
                failures += 1
                time.sleep(backoff)
                backoff = min(backoff * 2, self.retry_at_most)

    def _live(self, catch_up: bool) -> None:
        self.listening = True
        if catch_up or self._held_back:
            self._held_back = False
            self.kick(None)  # pushes may have been missed: make every page catch up

    def _dispatch(self, message: dict) -> bool:
        """Handle one message from the subscription; False once this hub is told to stop."""
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else channel
        if channel == self.names.control_channel:
            return self._command(json.loads(message["data"]))
        self._fan_out(channel, message["data"])
        return True

    def _command(self, command: dict) -> bool:
        if "kick" in command:
            self.kick(command["kick"], bool(command.get("drain")))
        handler = self._handlers.get(command.get("broadcast"))
        if handler is not None:
            try:
                handler()
            except Exception:  # noqa: BLE001 - a failed handler must not end the subscription
                log.exception("broadcast %r failed", command.get("broadcast"))
        return command.get("stop") != self.origin

    def _fan_out(self, channel: str, data: bytes | str) -> None:
        try:
            user_id = int(channel.rsplit(":", 1)[1])
        except ValueError:
            return
        if user_id not in self._sockets:  # every process hears every user: most fragments are not for it
            return
        if isinstance(data, str):
            data = data.encode()
        if data.startswith(self._own_prefix):
            return  # published here: already delivered by its publisher
        self.deliver(user_id, data.partition(ORIGIN_END.encode())[2].decode())


def init_app(app: Flask) -> None:
    app.extensions["hub"] = Hub(app.config["REDIS_URL"], app.extensions["redis_names"], app.config["SOCKET_QUEUE_SIZE"],
                                app.config["HUB_RESUBSCRIBE_MAX_SECONDS"])


def get_hub() -> Hub:
    return current_app.extensions["hub"]


def publish(r: redis.Redis, user_id: int, fragment: str) -> None:
    """A fragment for every socket of the user, in every process."""
    get_hub().publish(r, user_id, fragment)


def publish_all(r: redis.Redis, fragments: list[tuple[int, str]]) -> None:
    """Several fragments (user id, fragment), each to every socket of its user, in order, in one
    round trip to Redis."""
    get_hub().publish_all(r, fragments)


def envelope(origin: str, fragment: str) -> str:
    """What goes through Redis: the publishing process's origin ("" from outside the app), then
    the fragment."""
    return origin + ORIGIN_END + fragment


def fragment_of(published: bytes | str) -> str:
    """The fragment of a published message."""
    if isinstance(published, bytes):
        published = published.decode()
    return published.partition(ORIGIN_END)[2]


def publish_kick(r: redis.Redis, user_id: int | None, drain: bool = False) -> None:
    """Close (with a reconnect code) every socket of a user, or of everyone, in every process; with
    ``drain``, each after the fragments already queued for it (published before, on the same
    subscription: they are queued first)."""
    r.publish(names().control_channel, json.dumps({"kick": user_id, "drain": True} if drain else {"kick": user_id}))
