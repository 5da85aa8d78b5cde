"""How fast clients were answered over a period: a wait starts at the first unanswered client
message and ends at the next reply (the replier's), belongs to the period it started in, and is
unanswered if still open at the end; first responses, waits' distribution, per moderator, days in
the reader's time zone; and who waits and which moderator is overloaded now."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.database import write_transaction
from app.extensions import db
from app.models import Conversation, Message, NotificationRound, ProfileAssignment, Role
from app.models.chat import Sender
from app.services import statistics
from app.services.errors import Forbidden
from tests.support.factories import make_profile, make_user, token

DAY = datetime(2026, 12, 1)  # naive UTC: the period is [DAY, DAY + 1 day)


def held_profile(moderator):
    """A profile the moderator holds (a conversation's moderator is its profile's holder)."""
    profile = make_profile()
    with write_transaction():
        db.session.add(ProfileAssignment(profile_id=profile.id, moderator_id=moderator.id))
    return profile


def conversation(client, profile, moderator, created, *messages, waiting_since=None):
    """A conversation created at ``created`` with (minutes after DAY, "c" or "p") messages."""
    with write_transaction():
        row = Conversation(client_id=client.id, profile_id=profile.id, assigned_moderator_id=moderator.id,
                           created_at=created, awaiting_reply_since=waiting_since)
        db.session.add(row)
        db.session.flush()
        for minutes, who in messages:
            db.session.add(Message(conversation_id=row.id, sender=Sender.CLIENT if who == "c" else Sender.PROFILE,
                                   author_id=client.id if who == "c" else moderator.id, body="x", client_token=token(),
                                   created_at=DAY + timedelta(minutes=minutes)))
        return row.id


def at(minutes):
    return DAY + timedelta(minutes=minutes)


def test_waits_first_responses_unanswered_and_per_moderator(ctx):
    ada, bob = make_user(Role.MODERATOR, display_name="Ada"), make_user(Role.MODERATOR, display_name="Bob")
    clients = [make_user() for _ in range(4)]
    adas, bobs = held_profile(ada), held_profile(bob)
    # new today: asks twice (one wait from the first), Ada answers 10 min later, asks again, Ada answers in 2
    conversation(clients[0], adas, ada, at(0), (0, "c"), (3, "c"), (10, "p"), (20, "c"), (22, "p"))
    # from yesterday: its wait started yesterday (not today's), then a new one answered in 1 min by Ada
    conversation(clients[1], adas, ada, at(-600), (-30, "c"), (5, "p"), (30, "c"), (31, "p"))
    # new today, still waiting at the end of the day: unanswered
    conversation(clients[2], bobs, bob, at(100), (100, "c"))
    # asked today, answered tomorrow by Bob: today's wait, 2 hours
    conversation(clients[3], bobs, bob, at(1400), (1400, "c"), (1520, "p"))
    with write_transaction():
        db.session.add(NotificationRound(cycle=1, round_number=1, moderator_ids_notified=[ada.id, bob.id],
                                         sent_at=at(50), pending_messages_count=1))

    stats = statistics.report(None, DAY, DAY + timedelta(days=1))
    assert sorted(stats.waits) == [60.0, 120.0, 600.0, 7200.0]
    assert sorted(stats.first_responses) == [600.0, 7200.0]  # the conversations created today
    assert stats.unanswered == 1
    assert (stats.client_messages, stats.replies) == (6, 4)  # messages written today
    assert (stats.new_conversations, stats.active_conversations) == (3, 4)
    assert (stats.rounds_sent, stats.moderators_called) == (1, 2)
    assert stats.response_p50 == 120.0 and stats.response_p90 == 7200.0
    by_name = {m.name: m for m in stats.moderators}
    assert sorted(by_name["Ada"].waits) == [60.0, 120.0, 600.0] and by_name["Ada"].replies == 4
    assert by_name["Ada"].first_responses == [600.0]
    assert by_name["Bob"].waits == [7200.0] and by_name["Bob"].first_responses == [7200.0] and by_name["Bob"].replies == 0
    assert stats.wait_distribution == [(60, 1), (300, 1), (900, 1), (3600, 0), (14400, 1), (None, 0), (-1, 1)]


def test_a_reply_later_than_the_horizon_after_the_period_counts_as_not_answered(ctx):
    """The report reads messages up to ``answer_within`` after the period's end, no further: an old
    period costs what a recent one does."""
    bob, client = make_user(Role.MODERATOR, display_name="Bob"), make_user()
    profile = held_profile(bob)
    conversation(client, profile, bob, at(100), (100, "c"), (3 * 1440 + 100, "p"))  # answered 3 days later

    within = statistics.report(None, DAY, DAY + timedelta(days=1), answer_within=timedelta(days=7))
    beyond = statistics.report(None, DAY, DAY + timedelta(days=1), answer_within=timedelta(days=2))
    assert (within.waits, within.unanswered) == ([3 * 86400.0], 0)
    assert (beyond.waits, beyond.unanswered) == ([], 1)


def test_days_follow_the_readers_time_zone():
    paris = ZoneInfo("Europe/Paris")
    start, end, days = statistics.period(date(2026, 12, 7), 7, paris)
    assert start == datetime(2026, 11, 30, 23, 0) and end == datetime(2026, 12, 7, 23, 0)
    assert [d for d, _ in days] == [date(2026, 12, 1) + timedelta(days=i) for i in range(7)]
    assert days[0][1] == start


def test_messages_are_counted_on_their_day(ctx):
    moderator, client = make_user(Role.MODERATOR), make_user()
    profile = held_profile(moderator)
    conversation(client, profile, moderator, at(0), (10, "c"), (1450, "c"), (1460, "p"))
    start, end = DAY, DAY + timedelta(days=2)
    stats = statistics.report(None, start, end, [(DAY.date(), DAY), ((DAY + timedelta(days=1)).date(), DAY + timedelta(days=1))])
    assert [(d.client_messages, d.replies) for d in stats.days] == [(1, 0), (1, 1)]


def test_who_waits_now_and_who_is_overloaded(ctx):
    now = datetime(2026, 12, 7, 12, 0)
    busy, calm = make_user(Role.MODERATOR, display_name="Busy"), make_user(Role.MODERATOR, display_name="Calm")
    admin, busys, calms = make_user(Role.ADMIN), held_profile(busy), held_profile(calm)
    for minutes in (2, 3, 4, 12):
        conversation(make_user(display_name=f"C{minutes}"), busys, busy, now, waiting_since=now - timedelta(minutes=minutes))
    conversation(make_user(display_name="Patient"), calms, calm, now, waiting_since=now - timedelta(minutes=1))

    waiting = statistics.waiting_clients(admin, 3)
    assert [w.client_name for w in waiting] == ["C12", "C4", "C3"] and waiting[0].moderator_name == "Busy"
    loads = {m.name: m for m in statistics.moderator_loads(admin, now, now - timedelta(minutes=30), 3, 600)}
    assert loads["Busy"].waiting == 4 and loads["Busy"].overloaded
    assert loads["Calm"].waiting == 1 and not loads["Calm"].overloaded
    assert not any(m.overloaded for m in statistics.moderator_loads(admin, now, now - timedelta(minutes=30), 5, 900))
    with pytest.raises(Forbidden):
        statistics.waiting_clients(make_user(Role.MODERATOR), 3)
