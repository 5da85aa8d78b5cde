"""The moderation log: one line per action, written with the action, never changed or deleted."""
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from app.database import write_transaction
from app.extensions import db
from app.models import ChangeReason, Conversation, ModerationAction, Role, UnlockRequest
from app.services import assignment, locks, sending, unlock_requests, users
from app.services.moderation import log
from tests.support.factories import make_profile, make_user, token

NOW = datetime(2026, 12, 8, 12, 0, 0)
APP = Path(__file__).resolve().parents[2] / "app"
# A statement aimed at the log other than an insert: the ORM class or the table beside update or
# delete, raw SQL naming the table, or a line handed to the session's delete.
CHANGES = re.compile(
    r"(update|delete)\s*\(\s*(ModerationAction|moderation_log)"
    r"|(UPDATE|DELETE\s+FROM)\s+moderation_log"
    r"|ModerationAction\.__table__\.(update|delete)"
    r"|session\.delete\([^)]*(line|moderation)", re.IGNORECASE)


def lines(**filters):
    return db.session.query(ModerationAction).filter_by(**filters).order_by(ModerationAction.id).all()


def test_disabling_and_enabling_an_account_write_who_whom_why_and_when(ctx):
    admin, moderator = make_user(Role.ADMIN), make_user(Role.MODERATOR)
    with write_transaction():
        users.set_active(moderator.id, False, NOW, actor=admin, reason="left the team")
    with write_transaction():
        users.set_active(moderator.id, False, NOW, actor=admin)  # no change, no line
    with write_transaction():
        users.set_active(moderator.id, True, NOW + timedelta(hours=1), actor=admin)
    written = lines(subject_id=moderator.id)
    assert [(x.action, x.actor_id, x.reason, x.created_at) for x in written] == [
        ("account_disabled", admin.id, "left the team", NOW),
        ("account_enabled", admin.id, None, NOW + timedelta(hours=1))]


def test_a_manual_reassignment_is_logged_and_the_engine_s_own_moves_are_not(ctx):
    admin = make_user(Role.ADMIN)
    first, second = make_user(Role.MODERATOR, online=True), make_user(Role.MODERATOR, online=True)
    posted = sending.send_client_message(make_user().id, make_profile().id, "bonjour", token(), NOW)
    conversation_id = posted.message.conversation_id
    holder = db.session.get(Conversation, conversation_id)
    target = second if holder.assigned_moderator_id == first.id else first
    with write_transaction():
        assert assignment.reassign(conversation_id, target.id, NOW, ChangeReason.MANUAL, actor=admin)
    with write_transaction():
        back = first if target is second else second
        assert assignment.reassign(conversation_id, back.id, NOW, ChangeReason.BALANCE)
    assert [(x.action, x.actor_id, x.subject_id, x.conversation_id) for x in lines()] == [
        ("manual_reassignment", admin.id, target.id, conversation_id)]


def test_a_granted_unlock_request_logs_the_forced_unlock(ctx):
    admin, moderator, other = make_user(Role.ADMIN), make_user(Role.MODERATOR), make_user(Role.MODERATOR)
    profile = make_profile()
    with write_transaction():
        assert locks.lock_profile(profile.id, other.id, NOW)
        request = unlock_requests.request_unlock(moderator, profile.id, "stuck since noon", NOW)
    with write_transaction():
        unlock_requests.decide(admin, request.id, True, NOW)
    assert [(x.action, x.actor_id, x.subject_id, x.profile_id, x.reason) for x in lines()] == [
        ("forced_unlock", admin.id, moderator.id, profile.id, "stuck since noon")]
    assert db.session.get(UnlockRequest, request.id).status == "granted"


def test_a_line_cannot_be_changed_or_deleted_through_the_session(ctx):
    admin = make_user(Role.ADMIN)
    with write_transaction():
        line = log.record("warn", actor=admin, subject=admin, reason="first", now=NOW)
    line = db.session.get(ModerationAction, line.id)
    line.reason = "rewritten"
    with pytest.raises(log.AppendOnly):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(log.AppendOnly):
        db.session.delete(db.session.get(ModerationAction, line.id))
        db.session.flush()
    db.session.rollback()
    assert [x.reason for x in lines()] == ["first"]


def test_the_database_refuses_to_update_a_line(ctx):
    admin = make_user(Role.ADMIN)
    with write_transaction():
        log.record("warn", actor=admin, subject=admin, reason="first", now=NOW)
    with pytest.raises(Exception, match="append-only"):
        with write_transaction():
            db.session.execute(text("UPDATE moderation_log SET reason = 'rewritten'"))
    db.session.rollback()
    assert [x.reason for x in lines()] == ["first"]


def test_no_code_path_updates_or_deletes_the_log():
    """Every module of the application read for a statement that would change a written line."""
    found = [f"{path.relative_to(APP)}: {m.group(0)}" for path in APP.rglob("*.py")
             for m in CHANGES.finditer(path.read_text())]
    assert found == []


@pytest.mark.parametrize("source", [
    "db.session.execute(update(ModerationAction).values(reason='x'))",
    "db.session.execute(delete(ModerationAction))",
    "text('DELETE FROM moderation_log')",
    "ModerationAction.__table__.update()",
    "db.session.delete(line)",
])
def test_the_source_check_sees_each_way_to_change_a_line(source):
    assert CHANGES.search(source)


def test_an_unknown_action_is_refused(ctx):
    with pytest.raises(ValueError):
        log.record("erase", actor=None, now=NOW)
