"""The hub's fan-out through a real Redis: fragments published by this process reach its own
sockets once, directly; fragments published elsewhere arrive through the subscription."""
import time

import pytest

from app.realtime.hub import RECONNECT, Hub, envelope, fragment_of
from app.redis_client import get_redis, names
from tests.support.sockets import queued
from tests.support.waiting import wait_until


def _listening(r, user_id: int, *conns) -> None:
    """Wait until every hub's subscription hears a fragment from outside (a hub subscribes in the
    background when its first socket registers), then drop those pings."""
    heard = set()
    deadline = time.monotonic() + 10
    while len(heard) < len(conns) and time.monotonic() < deadline:
        r.publish(names().user_channel(user_id), envelope("", "ping"))
        heard |= {i for i, conn in enumerate(conns) if "ping" in queued(conn, timeout=0.2)}
    assert len(heard) == len(conns), "a hub never subscribed"
    for conn in conns:
        queued(conn, timeout=0.3)


def test_a_fragment_published_here_reaches_a_local_socket_once_and_others_through_redis(app):
    with app.app_context():
        r = get_redis()
        here, elsewhere = Hub(app.config["REDIS_URL"], names()), Hub(app.config["REDIS_URL"], names())
        mine, theirs = here.register(7001), elsewhere.register(7001)
        try:
            _listening(r, 7001, mine, theirs)

            here.publish(r, 7001, "<div id='a'>one</div>")
            assert mine.take() == "<div id='a'>one</div>"  # queued by the publish itself
            assert queued(mine) == []                                # its echo from Redis is skipped
            assert queued(theirs) == ["<div id='a'>one</div>"]       # the other process: through Redis

            # several at once (a message's two pushes): each delivered here at once, in order,
            # and to the other process through Redis in the same order
            here.publish_all(r, [(7001, "three"), (7002, "nobody"), (7001, "four")])
            assert mine.take() == "three" and mine.take() == "four"
            assert queued(mine) == [] and queued(theirs) == ["three", "four"]
        finally:
            here.stop(r)
            elsewhere.stop(r)
        assert not here._thread.is_alive() and not elsewhere._thread.is_alive()


def test_publishing_while_redis_is_unreachable_raises_delivers_nothing_here_and_the_pages_catch_up_after(app):
    """A failed publish reached no other process, so this one shows nothing either; once anything
    comes through its subscription (which stood all along) it is live again, and the pages that
    missed the fragment are told to catch up."""
    import redis

    with app.app_context():
        channels = names()
    hub = Hub(app.config["REDIS_URL"], channels)
    page = hub.register(7004)
    try:
        wait_until(lambda: hub.listening, timeout=10)
        unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
        with pytest.raises(redis.RedisError):
            hub.publish_all(unreachable, [(7004, "lost")])
        assert page.take() is None  # nothing shown here that the other processes never got

        r = redis.Redis.from_url(app.config["REDIS_URL"])
        r.publish(channels.user_channel(7099), "")  # any traffic through the subscription, which stood
        wait_until(lambda: page.close_code == RECONNECT, timeout=5)  # live again: the page catches up what it missed
        assert hub.listening
        fresh = hub.register(7004)
        hub.publish(r, 7004, "live")
        assert fresh.take() == "live"
    finally:
        hub.stop(redis.Redis.from_url(app.config["REDIS_URL"]))


def test_the_envelope_carries_any_fragment_unchanged():
    for fragment in ("", "plain", "line one\nline two\n", "<p>é ü ß</p>"):
        assert fragment_of(envelope("abc123", fragment).encode()) == fragment
        assert fragment_of(envelope("", fragment)) == fragment


@pytest.mark.slow
def test_a_forked_process_publishes_under_its_own_origin(app):
    """A child forked after the hub was made (an RQ job's work horse, a preloaded server) is
    another process: what it publishes reaches the parent's sockets through Redis."""
    import os

    import redis

    with app.app_context():
        r = get_redis()
        hub = Hub(app.config["REDIS_URL"], names())
        mine = hub.register(7003)
        try:
            _listening(r, 7003, mine)
            pid = os.fork()
            if pid == 0:  # the child: publish with the inherited hub, on its own connection
                code = 1
                try:
                    hub.publish(redis.Redis.from_url(app.config["REDIS_URL"]), 7003, "from the child")
                    code = 0
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0
            assert queued(mine) == ["from the child"]
        finally:
            hub.stop(r)
