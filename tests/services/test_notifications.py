"""The notification centre as plain functions: merging while unread, the per-user budget, the
Redis-cached unread count (invalidated exactly on each write, never filled with a stale count),
each user's own notifications only, and the events that notify."""
from datetime import datetime, timedelta

import pytest

from app.database import write_transaction
from app.extensions import db
from app.models import Notification, Role, User
from app.redis_client import get_redis, names
from app.services import chat, notifications, reading, sending
from app.services.errors import NotFound, ValidationError
from tests.support.factories import make_profile, make_user, token

NOW = datetime(2026, 12, 6, 12, 0, 0)


def notify(user, kind="ticket", key="ticket:1", now=NOW, **params):
    with write_transaction():
        return notifications.notify(user.id, kind, key, now=now, params=params or {"ticket_id": 1, "subject": "s",
                                                                                    "action": "commented"})


def rows(user):
    return db.session.scalars(db.select(Notification).where(Notification.user_id == user.id)
                              .order_by(Notification.id)).all()


def test_events_about_one_object_merge_into_its_unread_notification_and_bump_it(ctx):
    user = make_user()
    first = notify(user, key="ticket:1")
    notify(user, key="ticket:2", now=NOW + timedelta(minutes=1))
    merged = notify(user, key="ticket:1", now=NOW + timedelta(minutes=2))
    assert merged.id == first.id and merged.count == 2 and merged.updated_at == NOW + timedelta(minutes=2)
    assert [n.object_key for n in notifications.listing(user.id).items] == ["ticket:1", "ticket:2"]  # bumped up
    with write_transaction():
        notifications.mark_read(db.session.get(User, user.id), first.id, NOW)
    again = notify(user, key="ticket:1", now=NOW + timedelta(minutes=3))
    assert again.id != first.id and again.count == 1  # once read, the next event is a new one
    assert len(rows(user)) == 3


def test_past_the_budget_new_notifications_are_dropped_but_merges_go_on(ctx):
    user = make_user()
    ctx.config["NOTIFICATIONS_PER_MINUTE"] = 3
    try:
        for i in range(5):
            notify(user, key=f"ticket:{i}")
        assert len(rows(user)) == 3
        assert notify(user, key="ticket:0").count == 2  # a merge is not a new one
    finally:
        ctx.config["NOTIFICATIONS_PER_MINUTE"] = 20


def test_the_unread_count_is_cached_and_dropped_exactly_on_each_write(ctx):
    user = make_user()
    notify(user, key="ticket:1")
    assert notifications.unread_count(user.id) == 1
    assert get_redis().get(names().notification_count(user.id)) == b"1"
    # A row written behind the service's back is not seen: the count comes from the cache.
    with write_transaction():
        db.session.add(Notification(user_id=user.id, kind="ticket", object_key="ticket:99", params={}, created_at=NOW,
                                    updated_at=NOW))
    assert notifications.unread_count(user.id) == 1
    notify(user, key="ticket:2")  # a write through the service: dropped after its commit, read again
    assert notifications.unread_count(user.id) == 3
    with write_transaction():
        notifications.mark_all_read(db.session.get(User, user.id), NOW)
    assert notifications.unread_count(user.id) == 0


def test_a_count_read_before_a_write_is_never_cached_after_it(ctx):
    user = make_user()
    notify(user, key="ticket:1")
    r, n = get_redis(), names()
    notifications.invalidate(user.id)
    version_before = r.get(n.notification_count_version(user.id))
    stale = notifications.count_unread(user.id)  # a slow reader counted here...
    notifications.invalidate(user.id)            # ...then a write committed and dropped the count
    notifications._FILL(keys=[n.notification_count(user.id), n.notification_count_version(user.id)],
                        args=[version_before, stale, 60], client=r)
    assert r.get(n.notification_count(user.id)) is None  # the stale count was not cached


def test_a_user_acts_on_their_own_notifications_only(ctx):
    owner, other = make_user(), make_user()
    mine = notify(owner)
    stranger = db.session.get(User, other.id)
    for act in (lambda: notifications.mark_read(stranger, mine.id, NOW), lambda: notifications.remove(stranger, mine.id)):
        with pytest.raises(NotFound):
            with write_transaction():
                act()
    row = db.session.get(Notification, mine.id, populate_existing=True)
    assert row is not None and row.read_at is None
    with write_transaction():
        assert notifications.mark_all_read(stranger, NOW) == 0
        assert notifications.remove_read(stranger) == 0
    assert db.session.get(Notification, mine.id, populate_existing=True).read_at is None


def test_deleting_one_and_all_read(ctx):
    user = make_user()
    a, b, c = notify(user, key="ticket:1"), notify(user, key="ticket:2"), notify(user, key="ticket:3")
    actor = db.session.get(User, user.id)
    with write_transaction():
        notifications.mark_read(actor, a.id, NOW)
        notifications.mark_read(actor, b.id, NOW)
    with write_transaction():
        notifications.remove(actor, c.id)
    with write_transaction():
        assert notifications.remove_read(actor) == 2
    assert rows(user) == [] and notifications.unread_count(user.id) == 0


def test_mail_preferences_default_and_choice_among_the_kinds_of_ones_role(ctx):
    client = db.session.get(User, make_user().id)
    moderator = db.session.get(User, make_user(Role.MODERATOR).id)
    assert [kind for kind, _ in notifications.mail_choices(client)] == ["reply", "report_outcome", "ticket",
                                                                        "export_ready"]
    assert "job_failed" not in dict(notifications.mail_choices(moderator))
    assert notifications.wants_mail(moderator, "ticket") and not notifications.wants_mail(moderator, "work_assigned")
    with write_transaction():
        notifications.set_mail_preferences(moderator, {"work_assigned"})
    assert notifications.wants_mail(moderator, "work_assigned") and not notifications.wants_mail(moderator, "ticket")
    for wrong in ({"everything"}, {"job_failed"}):  # unknown, or not a moderator's
        with pytest.raises(ValidationError):
            notifications.set_mail_preferences(moderator, wrong)


def test_a_notification_mailed_is_recorded_as_such_only_when_wanted(ctx):
    from app.services import events

    user = make_user()
    with write_transaction():
        notifications.notify(user.id, "export_ready", "export:x", now=NOW, params={"profile": "Camille", "format": "pdf"})
        recorded = list(db.session().info.get("switchboard_events", []))
    assert any(isinstance(e, events.NotificationToMail) for e in recorded) is False  # in-app only by default
    with write_transaction():
        notifications.notify(user.id, "reply", "conversation:1", now=NOW, params={"profile": "Camille"})
        recorded = list(db.session().info.get("switchboard_events", []))
    assert any(isinstance(e, events.NotificationToMail) for e in recorded)


def test_reading_the_conversation_reads_its_reply_notification(ctx):
    moderator = make_user(Role.MODERATOR, online=True)
    client = make_user()
    profile = make_profile()
    with write_transaction():
        posted = sending.send_client_message(client.id, profile.id, "hello", token(), NOW)
    with write_transaction():
        reply = chat.post_profile_reply(db.session.get(User, moderator.id), posted.message.conversation_id, "hi",
                                        token(), NOW)
    from app.jobs.notifications import notify_unread_reply

    assert notify_unread_reply(posted.message.conversation_id, reply.message.id) is True
    assert notify_unread_reply(posted.message.conversation_id, reply.message.id) is True  # merged, not doubled
    [row] = rows(client)
    assert (row.kind, row.count, row.read_at) == ("reply", 2, None)
    with write_transaction():
        reading.mark_read_by_client(db.session.get(User, client.id), profile.id, reply.message.id, NOW)
    assert db.session.get(Notification, row.id, populate_existing=True).read_at == NOW
    assert notify_unread_reply(posted.message.conversation_id, reply.message.id) is False  # read: nothing to tell
    assert len(rows(client)) == 1
