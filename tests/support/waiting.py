"""Polling until something happens elsewhere: a condition, a fragment published on Redis."""
from __future__ import annotations

import time


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05):
    """``predicate``'s first truthy value, polled until ``timeout`` (then an AssertionError)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def first_published(pubsub, needle: str = "", timeout: float = 5.0) -> str:
    """The first fragment published on ``pubsub``'s channels that contains ``needle`` (subscribed
    with ``ignore_subscribe_messages``)."""
    from app.realtime.hub import fragment_of

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message is not None and message["type"] == "message" and needle in fragment_of(message["data"]):
            return fragment_of(message["data"])
    raise AssertionError(f"nothing containing {needle!r} was published")
