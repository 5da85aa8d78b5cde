"""The monitoring pass: unavailable holders lose waiting work, orphans find a moderator,
expired locks go, conflicts are logged; admins resolve what is left."""
from datetime import datetime, timedelta

from app.database import write_transaction
from app.extensions import db
from app.models import AssignmentChange, AssignmentConflict, ChangeReason, Conversation, Role
from app.services import conflicts, locks, monitoring, sending
from tests.support.factories import make_profile, make_user, token

T0 = datetime(2026, 11, 23, 12, 0, 0)


def test_waiting_work_leaves_offline_holders_and_orphans_get_assigned(ctx):
    gone = make_user(Role.MODERATOR, online=True)
    profile = make_profile()
    with write_transaction():
        held = sending.post_client_message(make_user(), profile.id, "hello?", token(), T0).message.conversation
    assert held.assigned_moderator_id == gone.id
    with write_transaction():
        db.session.merge(gone).is_online = False      # their process died; presence sweep marked them offline
    with write_transaction():
        orphan = sending.post_client_message(make_user(), profile.id, "hi", token(), T0).message.conversation
        locks.lock_profile(profile.id, gone.id, T0 - timedelta(hours=1))
    with write_transaction():                          # nobody online yet: nothing can move
        report = monitoring.run_checks(T0 + timedelta(seconds=10))
    assert report.moved_from_unavailable == 0 and report.orphans_assigned == 0
    assert "no_moderator_online" in report.alerts and report.expired_locks_removed == 1

    back = make_user(Role.MODERATOR, online=True)
    with write_transaction():
        report = monitoring.run_checks(T0 + timedelta(seconds=20))
    assert report.moved_from_unavailable == 1 and report.orphans_assigned == 1
    assert report.receivers == {gone.id, back.id} and report.alerts == []
    db.session.expire_all()
    assert {c.assigned_moderator_id for c in db.session.query(Conversation)} == {back.id}
    reasons = {(c.conversation_id, c.reason) for c in db.session.query(AssignmentChange)}
    assert (held.id, ChangeReason.DISCONNECT) in reasons and (orphan.id, ChangeReason.NEW) in reasons
    logged = db.session.query(AssignmentConflict).one()
    assert logged.kind == "held_by_offline" and logged.resolved_at is not None


def test_admin_resolves_an_open_conflict_once(ctx):
    admin = make_user(Role.ADMIN)
    with write_transaction():
        conflict = conflicts.record("manual_check", T0, detail="two moderators claim the same client")
    assert [c.id for c in conflicts.listing(open_only=True)] == [conflict.id]
    with write_transaction():
        conflicts.resolve(conflict.id, admin, "kept the first moderator", T0)
    assert conflicts.listing(open_only=True) == []
    import pytest

    from app.services.errors import ValidationError
    with pytest.raises(ValidationError), write_transaction():
        conflicts.resolve(conflict.id, admin, "again", T0)


def test_an_approached_client_leaves_an_offline_moderator_whole(ctx):
    from app.models import ClientLock

    gone = make_user(Role.MODERATOR, online=True)
    client = make_user()
    with write_transaction():  # two tabs: both conversations go to the one moderator online, one lock
        conversations = [sending.post_client_message(client, make_profile(name=n).id, "hi", token(), T0)
                         .message.conversation for n in ("P0", "P1")]
    others = [make_user(Role.MODERATOR, online=True) for _ in range(2)]
    with write_transaction():
        db.session.merge(gone).is_online = False
    now = T0 + timedelta(seconds=10)
    with write_transaction():
        report = monitoring.run_checks(now)
    assert report.moved_from_unavailable == 1  # one move took both profiles
    db.session.expire_all()
    holders = {db.session.get(Conversation, c.id).assigned_moderator_id for c in conversations}
    assert len(holders) == 1 and holders <= {m.id for m in others}
    assert {db.session.query(ClientLock).filter_by(client_id=client.id).one().moderator_id} == holders
