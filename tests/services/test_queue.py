"""The moderator queue: order, positions, estimated wait, leaving and rejoining."""
import json
import os
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text, update

from app.database import write_transaction
from app.extensions import db
from app.models import Role, User
from app.services import activity, chat, moderator_queue, sending
from tests.support.factories import make_profile, make_user, queued_moderator, token

T0 = datetime(2026, 11, 23, 12, 0, 0)


def post(now):
    with write_transaction():
        return sending.post_client_message(make_user(), make_profile().id, "hi", token(), now).message.conversation


def test_simultaneous_connections_are_ordered_by_time_then_id(ctx):
    a, b = queued_moderator(T0), queued_moderator(T0)                 # the same instant: lower id first
    c = queued_moderator(T0 - timedelta(milliseconds=1))   # a millisecond earlier: first of all
    assert [mid for mid, _ in moderator_queue.order(T0)] == [c.id, a.id, b.id]
    assert [post(T0).assigned_moderator_id for _ in range(3)] == [c.id, a.id, b.id]


def test_position_and_estimated_wait(ctx):
    first, second = queued_moderator(T0), queued_moderator(T0 + timedelta(seconds=1))
    assert moderator_queue.status(second.id, T0).position == 2
    assert moderator_queue.status(second.id, T0, default_wait=60).estimated_wait_seconds == 120
    for i in range(6):                           # 6 new conversations in 30 min: one every 5 minutes
        post(T0 + timedelta(seconds=10 + i))
    status = moderator_queue.status(first.id, T0 + timedelta(minutes=1))
    assert status.in_queue and status.queued == 2 and status.estimated_wait_seconds == 300


def test_leaving_the_queue_stops_new_work_and_rejoining_goes_to_the_back(ctx):
    a, b = queued_moderator(T0), queued_moderator(T0 + timedelta(seconds=1))
    with write_transaction():
        assert moderator_queue.leave(a.id)
    assert moderator_queue.status(a.id, T0).in_queue is False
    assert post(T0 + timedelta(seconds=2)).assigned_moderator_id == b.id
    with write_transaction():
        moderator_queue.join(a.id, T0 + timedelta(seconds=3))
        moderator_queue.join(a.id, T0 + timedelta(seconds=9))       # joining twice keeps the first place
    assert [mid for mid, _ in moderator_queue.order(T0 + timedelta(seconds=4))] == [a.id, b.id]   # a has load 0
    assert moderator_queue.status(a.id, T0 + timedelta(seconds=4)).position == 1


def test_status_counts_the_profiles_nobody_holds(ctx):
    moderator = queued_moderator(T0)
    make_profile(name="Free")
    assert moderator_queue.status(moderator.id, T0).profiles_available == 1
    post(T0)                                      # a new profile, given to the moderator with its conversation
    status = moderator_queue.status(moderator.id, T0)
    assert status.profiles_available == 1 and status.in_queue and status.position == 1


def test_load_counter_follows_assignments_and_is_resynced(ctx):
    from app.models import QueueEntry

    moderator = queued_moderator(T0)
    answered, _ = post(T0), post(T0)
    counter = lambda: db.session.query(QueueEntry.load).filter_by(moderator_id=moderator.id).scalar()  # noqa: E731
    assert counter() == 2 == activity.load_of(moderator.id, T0)
    with write_transaction():
        chat.post_profile_reply(db.session.merge(moderator), answered.id, "hello", token(), T0)
    assert counter() == 2                         # answered, but traffic in the last 30 min: active
    later = T0 + timedelta(minutes=31)            # it went quiet; the other still waits
    with write_transaction():
        assert activity.resync_loads(later) == 1
    assert counter() == 1 == activity.load_of(moderator.id, later)


def test_clients_writing_to_two_profiles_do_not_pull_every_free_profile_to_one_moderator(ctx):
    """Eight moderators online, 24 clients each writing to two of eight profiles at once: a free
    profile follows a client's approach only while that keeps its moderator within the balancing
    threshold of the next in line; otherwise it waits for the approach to end and goes by load."""
    import random
    from collections import Counter

    from sqlalchemy import select

    from app.models import Conversation
    from app.services import sending
    from tests.support.factories import make_profile, token

    rng = random.Random(5)
    moderators = [make_user(Role.MODERATOR, online=True) for _ in range(8)]
    profiles = [make_profile(name=f"P{i}") for i in range(8)]
    now = datetime(2026, 12, 5, 12, 0)
    for _ in range(24):
        client = make_user()
        for profile in rng.sample(profiles, 2):
            sending.send_client_message(client.id, profile.id, "hello", token(), now)
    held = Counter(db.session.scalars(select(Conversation.assigned_moderator_id)
                                      .where(Conversation.assigned_moderator_id.is_not(None))))
    assert set(held) <= {m.id for m in moderators}
    assert len(held) >= 5 and max(held.values()) <= 12, held


def _rows_read_from(plan: dict, table: str) -> int:
    """The most rows any node of an ``EXPLAIN (ANALYZE, FORMAT JSON)`` plan read from ``table``."""
    here = plan.get("Actual Rows", 0) * plan.get("Actual Loops", 1) if plan.get("Relation Name") == table else 0
    return max([here, *(_rows_read_from(child, table) for child in plan.get("Plans", []))])


@pytest.mark.skipif(not os.environ["DATABASE_URL"].startswith("postgresql"), reason="PostgreSQL's planner")
def test_the_next_in_line_walks_the_queue_whatever_the_statistics_say(ctx):
    """200 moderators came online since the users were last analysed (none online then: a busy
    night's start, too few rows of a large table for autovacuum to analyse it again): the pick
    still walks the queue in its order and stops at the first available, instead of reading every
    online moderator and sorting them (what a join to the users let the planner do). The queue
    itself is analysed as it is: a small table written at every decision, autovacuum keeps it so."""
    moderators = [make_user(Role.MODERATOR) for _ in range(200)]
    db.session.execute(text("ANALYZE users"))
    with write_transaction():
        db.session.execute(update(User).where(User.id.in_([m.id for m in moderators])).values(is_online=True))
        for moderator in moderators:
            moderator_queue.join(moderator.id, T0)
    db.session.execute(text("ANALYZE moderator_queue"))
    query = moderator_queue.next_in_line().compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = db.session.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}")).scalar()
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    assert db.session.scalar(moderator_queue.next_in_line()) == moderators[0].id
    assert _rows_read_from(plan, "users") <= 1 and _rows_read_from(plan, "moderator_queue") <= 1
