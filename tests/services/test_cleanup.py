"""Old rows removed (``services.cleanup``), each kind made through the services that write it: what
is past its retention goes, what the engine still reads stays, in batches, a second run removes
nothing, and a dry run only counts."""
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.database import write_transaction
from app.extensions import db
from app.models import (AssignmentChange, AssignmentConflict, ChangeReason, Conversation, MailDelivery, Notification,
                        NotificationRound, PendingClientMessage, Photo, Role, RoundNotification, User)
from app.services import assignment, chat, cleanup, conflicts, deliveries, notifications, rounds, sending
from app.services.photos import processing, uploads
from app.services.photos.storage import FolderStorage, variant_key
from tests.support import images
from tests.support.factories import make_profile, make_user, token
from tests.support.rounds import answer_all, moderators_with_loads, post_waiting, set_online

NOW = datetime(2026, 11, 23, 12, 0, 0)
# The defaults: 30 days for pending rows and originals; 90 for rounds, read notifications and mail keys; 180 for
# the history and conflicts; 365 for unread notifications.
SETTINGS = cleanup.Settings()


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def rows(column) -> set:
    db.session.rollback()
    return set(db.session.scalars(select(column)))


def table_size(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


# -- making rows through the services ------------------------------------------------------------
def send(client, profile, at: datetime) -> int:
    """A client message at ``at``; its conversation's id."""
    with write_transaction():
        return sending.post_client_message(client, profile.id, "hello?", token(), at).message.conversation_id


def answer(moderator, conversation_id: int, at: datetime) -> None:
    with write_transaction():
        chat.post_profile_reply(moderator, conversation_id, "hi!", token(), at)


def change_hands(conversation_id: int, moderator_id: int, at: datetime) -> None:
    with write_transaction():
        assignment.record_change(conversation_id, None, moderator_id, ChangeReason.MANUAL, at)


def unheld_conversation() -> int:
    """A conversation nobody holds (no moderator online): its first message records no change of hands."""
    return send(make_user(), make_profile(), days_ago(300))


def notify(user, key: str, at: datetime, read_at: datetime | None = None) -> int:
    with write_transaction():
        notification_id = notifications.notify(user.id, "work_assigned", key, now=at).id
    if read_at is not None:
        with write_transaction():
            notifications.mark_read(db.session.get(User, user.id), notification_id, read_at)
    return notification_id


def deliver(key: str, claimed_at: datetime, sent_at: datetime | None = None) -> None:
    with write_transaction():
        assert deliveries.claim(key, "someone@example.test", claimed_at)
    if sent_at is not None:
        with write_transaction():
            deliveries.sent(key, sent_at)


def run_cycle(moderator, at: datetime) -> int:
    """A cycle of rounds: a message waits with nobody online, round 1 calls the moderator in, they
    answer it, the next pass ends the cycle. Returns the cycle's number."""
    conversations = post_waiting(1, at - timedelta(minutes=10), clients=1)
    with write_transaction():
        started = rounds.start_notification_round(at, rounds.Settings())
    assert started.action == "round"
    answer_all(conversations, moderator, at + timedelta(minutes=5))
    set_online(moderator.id, False, at + timedelta(minutes=6))
    with write_transaction():
        assert rounds.start_notification_round(at + timedelta(minutes=10), rounds.Settings()).action == "cycle_ended"
    return started.cycle


# -- each kind -------------------------------------------------------------------------------------
def test_pending_rows_of_messages_answered_past_retention_go_and_waiting_ones_stay(ctx):
    moderator, client = make_user(Role.MODERATOR, online=True), make_user()
    answered_lately = send(client, make_profile("A"), days_ago(3))
    answer(moderator, answered_lately, days_ago(2))
    answered_long_ago = send(client, make_profile("B"), days_ago(45))
    answer(moderator, answered_long_ago, days_ago(40))
    waiting_for_months = send(client, make_profile("C"), days_ago(100))
    waiting_since_yesterday = send(client, make_profile("D"), days_ago(1))

    assert cleanup.processed_pending_messages(NOW, SETTINGS).rows == 1
    assert rows(PendingClientMessage.conversation_id) == {answered_lately, waiting_for_months, waiting_since_yesterday}
    assert cleanup.processed_pending_messages(NOW, SETTINGS).rows == 0


def test_assignment_history_past_retention_goes_and_the_holders_stay(ctx):
    moderator = make_user(Role.MODERATOR, online=True)
    profile = make_profile()
    held = send(make_user(), profile, days_ago(200))           # its first assignment, recorded 200 days ago
    change_hands(held, moderator.id, days_ago(179))
    change_hands(held, moderator.id, days_ago(181))
    change_hands(held, moderator.id, days_ago(1))

    assert cleanup.assignment_history(NOW, SETTINGS).rows == 2
    assert rows(AssignmentChange.changed_at) == {days_ago(179), days_ago(1)}
    assert assignment.holder(profile.id) == moderator.id       # who holds what is not the history
    assert db.session.get(Conversation, held).assigned_moderator_id == moderator.id


def test_conflicts_resolved_past_retention_go_and_open_ones_stay(ctx):
    admin = make_user(Role.ADMIN)
    with write_transaction():
        resolved_long_ago = conflicts.record("claim_race", days_ago(200), resolution="the first claim won").id
        open_for_a_year = conflicts.record("held_by_offline", days_ago(400)).id
        resolved_lately = conflicts.record("held_by_disabled", days_ago(300)).id
        conflicts.record("claim_race", days_ago(10), resolution="the first claim won")
    with write_transaction():
        conflicts.resolve(resolved_lately, db.session.get(User, admin.id), "moved by hand", days_ago(20))

    assert cleanup.resolved_conflicts(NOW, SETTINGS).rows == 1
    remaining = rows(AssignmentConflict.id)
    assert resolved_long_ago not in remaining and {open_for_a_year, resolved_lately} <= remaining
    assert len(remaining) == 3


def test_rounds_of_a_cycle_ended_past_retention_go_with_their_notifications(ctx):
    moderator, = moderators_with_loads([0], days_ago(200))
    old = run_cycle(moderator, days_ago(120))
    lately = run_cycle(moderator, days_ago(60))
    latest = run_cycle(moderator, days_ago(50))

    swept = cleanup.ended_rounds(NOW, SETTINGS)
    assert (swept.rows, swept.linked) == (1, 1)
    assert rows(NotificationRound.cycle) == rows(RoundNotification.cycle) == {lately, latest}
    assert old not in rows(NotificationRound.cycle)


def test_the_latest_cycle_stays_past_retention_so_the_next_one_is_numbered_after_it(ctx):
    moderator, = moderators_with_loads([0], days_ago(200))
    run_cycle(moderator, days_ago(120))
    latest = run_cycle(moderator, days_ago(100))

    assert cleanup.ended_rounds(NOW, SETTINGS).rows == 1
    assert rows(NotificationRound.cycle) == {latest}
    post_waiting(1, NOW - timedelta(minutes=10), clients=1)
    with write_transaction():
        assert rounds.start_notification_round(NOW, rounds.Settings()).cycle == latest + 1


def test_read_notifications_go_after_their_retention_and_unread_ones_after_a_longer_one(ctx):
    user = make_user(Role.MODERATOR)
    notify(user, "conversation:1", days_ago(100), read_at=days_ago(95))
    read_lately = notify(user, "conversation:2", days_ago(100), read_at=days_ago(10))
    unread = notify(user, "conversation:3", days_ago(100))
    notify(user, "conversation:4", days_ago(400))
    newest = notify(user, "conversation:5", days_ago(1), read_at=days_ago(1))
    assert notifications.unread_count(user.id) == 2              # now cached in Redis

    report = cleanup.run(NOW, SETTINGS)
    assert (report.removed["read_notifications"], report.removed["unread_notifications"]) == (1, 1)
    assert rows(Notification.id) == {read_lately, unread, newest}
    assert notifications.unread_count(user.id) == 1              # the cached count was dropped


def test_the_newest_row_of_a_table_stays_until_a_newer_one_comes(ctx):
    """SQLite gives a new row the highest id + 1: the newest row removed, its id would be given out
    again (and the mail key "notification:<id>" of the one removed would refuse the new one's mail)."""
    user = make_user(Role.MODERATOR)
    notify(user, "conversation:1", days_ago(100), read_at=days_ago(100))
    newest = notify(user, "conversation:2", days_ago(100), read_at=days_ago(100))

    assert cleanup.read_notifications(NOW, SETTINGS).rows == 1
    assert rows(Notification.id) == {newest}
    newer = notify(user, "conversation:3", NOW)
    assert newer > newest
    assert cleanup.read_notifications(NOW, SETTINGS).rows == 1
    assert rows(Notification.id) == {newer}


def test_keys_of_mails_sent_past_retention_go_and_claims_not_marked_sent_stay(ctx):
    deliver("notification:1", days_ago(100), sent_at=days_ago(100))
    deliver("notification:2", days_ago(100))
    deliver("welcome:3", days_ago(10), sent_at=days_ago(10))

    assert cleanup.sent_mail_deliveries(NOW, SETTINGS).rows == 1
    assert rows(MailDelivery.key) == {"notification:2", "welcome:3"}


def test_photo_originals_go_once_processed_past_retention_and_the_sizes_stay(app, ctx, tmp_path):
    storage = FolderStorage(tmp_path / "photos")
    limits, sizes = uploads.Limits.from_config(app.config), processing.Sizes.from_config(app.config)

    def photo(sent_at: datetime, processed_at: datetime | None) -> str:
        db.session.remove()
        sent = uploads.send_client_photo(make_user().id, make_profile().id, images.jpeg(), "", token(), sent_at,
                                         storage, limits)
        if processed_at is not None:
            assert processing.process(sent.to_process, storage, sizes, processed_at) == "ready"
        db.session.remove()
        return sent.to_process

    processed_long_ago = photo(days_ago(41), days_ago(40))
    processed_lately = photo(days_ago(41), days_ago(5))
    never_processed = photo(days_ago(41), None)

    assert cleanup.photo_originals(NOW, SETTINGS, storage).rows == 1
    originals = dict(db.session.execute(select(Photo.id, Photo.original_key)).all())
    assert originals[processed_long_ago] is None
    assert not storage.exists(f"originals/{processed_long_ago[:2]}/{processed_long_ago}")
    assert all(storage.exists(variant_key(processed_long_ago, v)) for v in ("thumb", "display"))
    assert all(storage.exists(originals[kept]) for kept in (processed_lately, never_processed))
    assert cleanup.photo_originals(NOW, SETTINGS, storage).rows == 0


# -- every kind at once: batches, twice, a dry run -------------------------------------------------
def test_with_batches_of_two_all_five_old_rows_go_and_the_report_counts_them(ctx):
    moderator, conversation_id = make_user(Role.MODERATOR), unheld_conversation()
    for day in range(200, 205):
        change_hands(conversation_id, moderator.id, days_ago(day))
    change_hands(conversation_id, moderator.id, days_ago(1))

    report = cleanup.run(NOW, replace(SETTINGS, batch_size=2))
    assert report.removed["assignment_changes"] == 5 and report.total == 5
    assert report.batches == 3
    assert rows(AssignmentChange.changed_at) == {days_ago(1)}


def test_a_second_run_removes_nothing(ctx, tmp_path):
    moderator, client = make_user(Role.MODERATOR, online=True), make_user()
    answered = send(client, make_profile(), days_ago(45))
    answer(moderator, answered, days_ago(40))
    change_hands(answered, moderator.id, days_ago(200))
    with write_transaction():
        conflicts.record("claim_race", days_ago(200), resolution="the first claim won")
    notify(moderator, "conversation:1", days_ago(100), read_at=days_ago(100))
    notify(moderator, "conversation:2", days_ago(400))
    deliver("notification:1", days_ago(100), sent_at=days_ago(100))
    send(client, make_profile(), days_ago(1))
    change_hands(answered, moderator.id, days_ago(1))
    with write_transaction():
        conflicts.record("claim_race", days_ago(1), resolution="the first claim won")
    notify(moderator, "conversation:3", days_ago(1))

    first = cleanup.run(NOW, SETTINGS, FolderStorage(tmp_path))
    assert {kind: n for kind, n in first.removed.items() if n} == {
        "pending_messages": 1, "assignment_changes": 1, "conflicts": 1, "read_notifications": 1,
        "unread_notifications": 1, "mail_deliveries": 1}
    second = cleanup.run(NOW, SETTINGS, FolderStorage(tmp_path))
    assert second.total == 0 and second.batches == 0


def test_a_dry_run_counts_what_would_go_and_removes_nothing(ctx):
    moderator, conversation_id = make_user(Role.MODERATOR), unheld_conversation()
    for day in (200, 201, 202, 1):
        change_hands(conversation_id, moderator.id, days_ago(day))
    with write_transaction():
        conflicts.record("claim_race", days_ago(200), resolution="the first claim won")
        conflicts.record("held_by_offline", days_ago(200))
    deliver("notification:1", days_ago(100), sent_at=days_ago(100))

    dry = cleanup.run(NOW, SETTINGS, dry_run=True)
    assert dry.dry_run and dry.batches == 0
    assert {kind: n for kind, n in dry.removed.items() if n} == {"assignment_changes": 3, "conflicts": 1,
                                                                 "mail_deliveries": 1}
    assert (table_size(AssignmentChange), table_size(AssignmentConflict), table_size(MailDelivery)) == (4, 2, 1)
    assert cleanup.run(NOW, SETTINGS).removed == dry.removed


# -- settings ------------------------------------------------------------------------------------
def test_the_settings_come_from_config_and_zero_days_keeps_a_kind_for_good(app, ctx):
    assert cleanup.Settings.from_config(app.config) == SETTINGS
    moderator, conversation_id = make_user(Role.MODERATOR), unheld_conversation()
    for day in (400, 300, 1):
        change_hands(conversation_id, moderator.id, days_ago(day))

    assert cleanup.run(NOW, replace(SETTINGS, assignment_history_days=0)).total == 0
    assert table_size(AssignmentChange) == 3
    with pytest.raises(ValueError):
        replace(SETTINGS, pending_days=-1)
    with pytest.raises(ValueError):
        replace(SETTINGS, batch_size=0)
