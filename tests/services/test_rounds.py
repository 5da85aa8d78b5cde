"""Notification rounds as plain functions with a chosen clock: when a cycle starts, who is called
in, the check 30 minutes later, the end of a cycle, and the constraints that make each once."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import write_transaction
from app.extensions import db
from app.models import NotificationRound, PendingClientMessage, Role, RoundNotification, User
from app.services import chat, pending, rounds, sending
from tests.support.factories import make_profile, make_user, token
from tests.support.rounds import NOW, answer_all, moderators_with_loads, post_waiting, set_online

SETTINGS = rounds.Settings()   # the defaults: 5 min, 5 per moderator, 3 per round, 30 min


# -- the pass and the check, with the default settings ---------------------------------------
def start(now: datetime, settings: rounds.Settings = SETTINGS) -> rounds.Outcome:
    with write_transaction():
        return rounds.start_notification_round(now, settings)


def check(now: datetime, settings: rounds.Settings = SETTINGS) -> rounds.Outcome:
    with write_transaction():
        return rounds.check_notification_round(now, settings)


# -- pending rows ---------------------------------------------------------------------------------
def test_a_client_message_is_pending_until_its_conversation_is_answered(ctx):
    moderator = make_user(Role.MODERATOR, online=True)
    client, profile, other = make_user(), make_profile("A"), make_profile("B")
    tok = token()
    with write_transaction():
        first = sending.post_client_message(client, profile.id, "one", tok, NOW)
        sending.post_client_message(client, profile.id, "one", tok, NOW)            # a re-send: no second row
        sending.post_client_message(client, profile.id, "two", token(), NOW + timedelta(seconds=5))
        sending.post_client_message(client, other.id, "elsewhere", token(), NOW)
    rows = db.session.scalars(select(PendingClientMessage).order_by(PendingClientMessage.id)).all()
    assert [(r.message_id == first.message.id, r.pending_since, r.is_processed) for r in rows[:1]] == [(True, NOW, False)]
    assert len(rows) == 3 and {r.client_id for r in rows} == {client.id}
    assert pending.summary() == pending.Summary(3, NOW)

    conversation_id = first.message.conversation_id
    with write_transaction():
        chat.post_profile_reply(moderator, conversation_id, "answer", token(), NOW + timedelta(minutes=1))
    db.session.expire_all()
    processed = {r.conversation_id: (r.is_processed, r.processed_at) for r in db.session.scalars(select(PendingClientMessage))}
    assert processed[conversation_id] == (True, NOW + timedelta(minutes=1))
    assert pending.summary().count == 1                                          # the other conversation still waits


# -- when a cycle starts ---------------------------------------------------------------------------
@pytest.mark.parametrize("count, oldest_minutes, online, expected", [
    (0, None, 0, False),      # nothing waits
    (3, 4, 0, False),         # nobody online, but no message has waited 5 minutes yet
    (1, 6, 0, True),          # nobody online and one message waited 6 minutes
    (5, 6, 1, False),         # 5 per online moderator: not more than 5
    (6, 6, 1, True),          # 6 per online moderator
    (11, 10, 2, True),
    (10, 10, 2, False),
])
def test_when_a_round_starts(count, oldest_minutes, online, expected):
    oldest = NOW - timedelta(minutes=oldest_minutes) if oldest_minutes is not None else None
    assert rounds.should_start_round(pending.Summary(count, oldest), online, NOW, SETTINGS) is expected


def test_the_thresholds_are_settings(app):
    app.config.update(ROUNDS_MIN_PENDING_AGE_SECONDS=60, ROUNDS_PENDING_PER_MODERATOR=2)
    try:
        settings = rounds.Settings.from_config(app.config)
    finally:
        app.config.update(ROUNDS_MIN_PENDING_AGE_SECONDS=300, ROUNDS_PENDING_PER_MODERATOR=5)
    assert settings.min_pending_age == timedelta(minutes=1) and settings.pending_per_moderator == 2
    assert rounds.should_start_round(pending.Summary(3, NOW - timedelta(minutes=2)), 1, NOW, settings)


# -- who is called in -------------------------------------------------------------------------------
def test_offline_moderators_first_then_the_least_loaded_active_accounts_only(ctx):
    busy_offline, light_offline = moderators_with_loads([2, 1], NOW - timedelta(minutes=1))
    online_idle = make_user(Role.MODERATOR, online=True)
    disabled = make_user(Role.MODERATOR)
    with write_transaction():
        db.session.get(User, disabled.id).active = False
    make_user(Role.ADMIN)
    post_waiting(10, NOW - timedelta(minutes=10))
    outcome = start(NOW)
    assert outcome.action == "round"
    assert outcome.moderator_ids == [light_offline.id, busy_offline.id, online_idle.id]


def test_a_cycle_calls_in_the_next_moderators_every_30_minutes_and_ends_when_answered(ctx):
    moderators = moderators_with_loads([3, 0, 5, 1, 4, 2], NOW - timedelta(minutes=1))
    by_load = sorted(moderators, key=lambda m: int(m.display_name.split()[1]))
    conversations = post_waiting(10, NOW - timedelta(minutes=10))

    first = start(NOW)
    assert (first.action, first.cycle, first.round_number, first.pending_count) == ("round", 1, 1, 10)
    assert first.moderator_ids == [m.id for m in by_load[:3]]
    with write_transaction():                                               # the job marks them, in batches
        assert [pending.mark_notified(NOW, limit=6), pending.mark_notified(NOW, limit=6)] == [6, 4]
    assert all(db.session.scalars(select(PendingClientMessage.is_notified).where(PendingClientMessage.is_processed.is_(False))))
    assert start(NOW + timedelta(minutes=10)).action == "cycle_open"        # the pass leaves an open cycle to the checks
    assert check(NOW + timedelta(minutes=29)).action == "not_due"

    second = check(NOW + timedelta(minutes=30))
    assert (second.action, second.cycle, second.round_number) == ("round", 1, 2)
    # The next three (their loads have decayed by now: traffic older than 30 minutes is not load).
    assert sorted(second.moderator_ids) == sorted(m.id for m in by_load[3:])
    assert check(NOW + timedelta(minutes=31)).action == "not_due"           # the next check is 30 min after round 2
    assert check(NOW + timedelta(minutes=60)).action == "nobody_left"       # everyone was called in this cycle
    assert check(NOW + timedelta(minutes=90)).action == "not_due"           # and that check is done

    answer_all(conversations, by_load[0], NOW + timedelta(minutes=95))
    assert check(NOW + timedelta(minutes=96)) == rounds.Outcome("cycle_ended", cycle=1)
    assert check(NOW + timedelta(minutes=97)).action == "no_open_cycle"
    assert start(NOW + timedelta(minutes=100)).action == "nothing_pending"

    rows = rounds.history()
    assert [(r.round.cycle, r.round.round_number, r.answered, r.still_waiting) for r in rows] == [(1, 2, 10, 0), (1, 1, 10, 0)]
    assert all(r.round.cycle_ended_at == NOW + timedelta(minutes=96) for r in rows)

    # A new cycle later calls moderators again (everyone was called in cycle 1).
    set_online(by_load[0].id, False)
    post_waiting(1, NOW + timedelta(hours=2))
    third = start(NOW + timedelta(hours=2, minutes=6))
    assert (third.action, third.cycle, third.round_number) == ("round", 2, 1)
    assert len(third.moderator_ids) == 3 and set(third.moderator_ids) <= {m.id for m in moderators}


def test_cycle_state_for_the_admin_page(ctx):
    moderators_with_loads([0, 1, 2, 3], NOW - timedelta(minutes=1))
    post_waiting(4, NOW - timedelta(minutes=6))
    state = rounds.cycle_state(NOW, SETTINGS)
    assert (state.is_open, state.would_start, state.summary.count) == (False, True, 4)
    start(NOW)
    state = rounds.cycle_state(NOW + timedelta(minutes=1), SETTINGS)
    assert state.is_open and state.cycle == 1 and len(state.notified_ids) == 3
    assert state.next_check_at == NOW + timedelta(minutes=30)
    assert [m.display_name for m in state.next_moderators] == ["Load 3 #3"]


# -- what makes a round and an e-mail happen once -----------------------------------------------------
def test_the_database_refuses_a_second_round_or_a_second_call_in_a_cycle(ctx):
    moderator = make_user(Role.MODERATOR)
    with write_transaction():
        round_ = NotificationRound(cycle=1, round_number=1, sent_at=NOW, moderator_ids_notified=[moderator.id])
        db.session.add(round_)
        db.session.flush()
        db.session.add(RoundNotification(cycle=1, round_id=round_.id, moderator_id=moderator.id, email=moderator.email))
    with pytest.raises(IntegrityError):
        with write_transaction():
            db.session.add(NotificationRound(cycle=1, round_number=1, sent_at=NOW, moderator_ids_notified=[]))
    with pytest.raises(IntegrityError):
        with write_transaction():
            later = NotificationRound(cycle=1, round_number=2, sent_at=NOW, moderator_ids_notified=[moderator.id])
            db.session.add(later)
            db.session.flush()
            db.session.add(RoundNotification(cycle=1, round_id=later.id, moderator_id=moderator.id, email=moderator.email))


def test_a_pass_that_loses_the_race_records_nothing(ctx):
    """Another pass recorded round 1 of the cycle between this pass's read and its write: the
    constraint refuses the duplicate, the savepoint rolls back, nothing is marked or mailed."""
    moderators_with_loads([0, 1, 2, 3], NOW - timedelta(minutes=1))
    post_waiting(2, NOW - timedelta(minutes=10))
    with write_transaction():
        db.session.add(NotificationRound(cycle=1, round_number=1, sent_at=NOW, moderator_ids_notified=[]))
    with write_transaction():
        outcome = rounds._record_round(1, 1, NOW, pending.summary(), SETTINGS)
    assert outcome == rounds.Outcome("lost_race", cycle=1)
    assert db.session.scalar(select(RoundNotification.id)) is None
    assert not any(db.session.scalars(select(PendingClientMessage.is_notified)))
