"""Bans and mutes as plain functions: who may impose and lift them, which run, how they end."""
from datetime import datetime, timedelta

import pytest

from app.database import write_transaction
from app.extensions import db
from app.models import ModerationAction, Role, Sanction
from app.services import sending
from app.services.errors import Forbidden, NotFound, ValidationError
from app.services.moderation import sanctions
from tests.support.factories import make_profile, make_user, token

NOW = datetime(2026, 12, 8, 12, 0, 0)
HOUR = timedelta(hours=1)


def impose(actor, client_id, kind="mute", reason="insults", ends_at=NOW + HOUR, **extra):
    with write_transaction():
        return sanctions.impose(actor, client_id, kind, reason, ends_at, NOW, **extra)


def held_conversation():
    moderator = make_user(Role.MODERATOR, online=True)
    client = make_user()
    posted = sending.send_client_message(client.id, make_profile().id, "bonjour", token(), NOW)
    return moderator, client, posted.message.conversation_id


def actions():
    return [(x.action, x.subject_id) for x in db.session.query(ModerationAction).order_by(ModerationAction.id)]


def test_an_admin_bans_until_lifted_and_the_log_says_so(ctx):
    admin, client = make_user(Role.ADMIN), make_user()
    ban = impose(admin, client.id, "ban", "spam", None)
    assert set(sanctions.running(client.id, NOW + 1000 * HOUR)) == {"ban"}
    with write_transaction():
        sanctions.lift(admin, ban.id, "appeal granted", NOW + HOUR)
    assert sanctions.running(client.id, NOW + 2 * HOUR) == {}
    assert actions() == [("ban", client.id), ("unban", client.id)]


def test_a_moderator_mutes_only_from_a_conversation_they_hold_and_only_for_a_while(ctx):
    moderator, client, conversation_id = held_conversation()
    stranger = make_user(Role.MODERATOR)
    longest = ctx.config["MODERATOR_MUTE_MAX_SECONDS"]
    with pytest.raises(Forbidden):
        impose(moderator, client.id, "ban", conversation_id=conversation_id)
    with pytest.raises(Forbidden):
        impose(stranger, client.id, conversation_id=conversation_id)
    with pytest.raises(Forbidden):
        impose(moderator, client.id)  # no conversation named
    with pytest.raises(ValidationError):
        impose(moderator, client.id, ends_at=None, conversation_id=conversation_id)
    with pytest.raises(ValidationError):
        impose(moderator, client.id, ends_at=NOW + timedelta(seconds=longest + 1), conversation_id=conversation_id)
    mute = impose(moderator, client.id, ends_at=NOW + timedelta(seconds=longest), conversation_id=conversation_id)
    assert sanctions.running(client.id, NOW)["mute"].id == mute.id
    with pytest.raises(Forbidden):
        with write_transaction():
            sanctions.lift(stranger, mute.id, "", NOW)
    assert actions() == [("mute", client.id)]


@pytest.mark.parametrize("client_id, kind, reason, ends_at, error", [
    (None, "mute", "x", None, NotFound),
    ("3", "mute", "x", None, NotFound),
    (10 ** 9, "mute", "x", None, NotFound),
    ("self", "silence", "x", None, ValidationError),
    ("self", "ban", "  ", None, ValidationError),
    ("self", "ban", "x" * 501, None, ValidationError),
    ("self", "ban", "x", NOW - HOUR, ValidationError),
])
def test_bad_input_is_refused_and_nothing_is_written(ctx, client_id, kind, reason, ends_at, error):
    admin, client = make_user(Role.ADMIN), make_user()
    with pytest.raises(error):
        impose(admin, client.id if client_id == "self" else client_id, kind, reason, ends_at)
    assert db.session.query(Sanction).count() == 0 and actions() == []


def test_only_clients_are_sanctioned_and_only_by_staff(ctx):
    admin, client, other = make_user(Role.ADMIN), make_user(), make_user()
    with pytest.raises(NotFound):
        impose(admin, make_user(Role.MODERATOR).id, "ban")
    with pytest.raises(Forbidden):
        impose(other, client.id, "ban")


def test_the_scheduled_pass_ends_what_is_due_once(ctx):
    admin, client = make_user(Role.ADMIN), make_user()
    short = impose(admin, client.id, "mute", ends_at=NOW + HOUR)
    impose(admin, client.id, "ban", ends_at=NOW + 3 * HOUR)
    with write_transaction():
        assert sanctions.end_expired(NOW + 2 * HOUR) == 1
    with write_transaction():
        assert sanctions.end_expired(NOW + 2 * HOUR) == 0  # again: nothing more
    assert db.session.get(Sanction, short.id).lifted_at == NOW + HOUR
    assert set(sanctions.running(client.id, NOW + 2 * HOUR)) == {"ban"}
    assert actions() == [("mute", client.id), ("ban", client.id), ("sanction_ended", client.id)]
    with pytest.raises(ValidationError):
        with write_transaction():
            sanctions.lift(admin, short.id, "", NOW + 2 * HOUR)  # already ended
