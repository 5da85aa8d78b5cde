"""``flask cleanup run [--dry-run]`` through Flask's CLI runner."""
from datetime import timedelta

from sqlalchemy import func, select

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import AssignmentChange, AssignmentConflict, ChangeReason, Role
from app.services import assignment, conflicts, sending
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user, token


def old_history_and_conflicts(now) -> None:
    """Three changes of hands past their retention and one recent; a conflict resolved long ago."""
    moderator, client, profile = make_user(Role.MODERATOR), make_user(), make_profile()
    with write_transaction():
        conversation_id = sending.post_client_message(client, profile.id, "hello?", token(),
                                                      now - timedelta(days=400)).message.conversation_id
        for days in (300, 250, 200, 1):
            assignment.record_change(conversation_id, None, moderator.id, ChangeReason.MANUAL, now - timedelta(days=days))
        conflicts.record("claim_race", now - timedelta(days=200), resolution="the first claim won")
        conflicts.record("held_by_offline", now - timedelta(days=200))


def sizes() -> tuple[int, int]:
    with app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (AssignmentChange, AssignmentConflict))


def test_cleanup_run_prints_the_rows_removed_per_kind_and_a_dry_run_removes_nothing(app):
    with app_context():
        old_history_and_conflicts(utcnow())
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["cleanup", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "assignment changes: 3\n" in dry.output and "conflicts: 1\n" in dry.output
    assert "pending messages: 0\n" in dry.output
    assert "Dry run: 4 row(s) would be removed; nothing was." in dry.output
    assert sizes() == (4, 2)

    ran = runner.invoke(args=["cleanup", "run"])
    assert ran.exit_code == 0, ran.output
    assert "assignment changes: 3\n" in ran.output and "conflicts: 1\n" in ran.output
    assert "Removed 4 row(s) in 2 batch(es)" in ran.output
    assert sizes() == (1, 1)

    again = runner.invoke(args=["cleanup", "run"])
    assert "Removed 0 row(s) in 0 batch(es)" in again.output
