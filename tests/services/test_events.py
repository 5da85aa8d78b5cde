"""Pushes follow commits: what a unit of work records is dispatched once it has committed, and
never for one that rolled back."""
import time

import pytest
from sqlalchemy import func, select

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Message, Role, User
from app.realtime.hub import fragment_of
from app.redis_client import get_redis, names
from app.services import events, sending
from tests.support.factories import count, make_profile, make_user, token


def _published_within(pubsub, seconds: float) -> list[str]:
    deadline, seen = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.05)
        if message is not None and message["type"] == "message":
            seen.append(fragment_of(message["data"]))
    return seen


@pytest.fixture
def client_channel(ctx):
    """A client writing to a profile an online moderator will hold; the client's push channel."""
    make_user(Role.MODERATOR, online=True)
    client, profile = make_user(), make_profile("Iris")
    pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(names().user_channel(client.id))
    try:
        yield pubsub, client, profile
    finally:
        pubsub.close()


def _post(client, profile, body):
    sending.post_client_message(db.session.get(User, client.id), profile.id, body, token(), utcnow())


def test_events_are_dispatched_once_their_transaction_has_committed(client_channel):
    """The dispatcher runs when another connection already sees the rows: a page that fetches
    what it was told about finds it."""
    pubsub, client, profile = client_channel
    visible_then = []

    def count_from_another_connection(happened):
        with db.engine.connect() as other:
            visible_then.append(other.execute(select(func.count()).select_from(Message)).scalar())

    events.subscribe(count_from_another_connection)
    try:
        with write_transaction():
            _post(client, profile, "after the commit")
            assert _published_within(pubsub, 0.3) == []  # recorded, not pushed yet
    finally:
        events.unsubscribe(count_from_another_connection)
    assert visible_then == [1]
    assert any("after the commit" in fragment for fragment in _published_within(pubsub, 1.0))


def test_a_rolled_back_transaction_pushes_nothing_then_or_later(client_channel):
    pubsub, client, profile = client_channel

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned):
        with write_transaction():
            _post(client, profile, "never stored")
            raise Abandoned
    assert count(Message) == 0
    assert _published_within(pubsub, 0.5) == []
    with write_transaction():  # the next unit of work pushes its own events only
        _post(client, profile, "stored")
    pushed = _published_within(pubsub, 1.0)
    bubbles = [fragment for fragment in pushed if 'class="body"' in fragment]
    assert len(bubbles) == 1 and "stored" in bubbles[0] and "never stored" not in bubbles[0]
