"""The moderation log: who did what to whom, why and when, one line per action, never changed.

Every service that takes a moderation action (a ban, a mute and their ends, a warning, a content
filter's block or flag, a report decided, an account disabled or enabled, a manual reassignment,
a forced unlock) writes its line here in the same transaction as the action, so a line exists
exactly when the action was stored.

Append-only: a flush that would change or delete a line fails; the database refuses updates (a
trigger, see the migration); ``tests/services/test_moderation_log.py`` reads the source for any
statement that would update or delete the log.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import event as sqlalchemy_event

from ...extensions import db
from ...models import MODERATION_ACTIONS, ModerationAction, User


class AppendOnly(RuntimeError):
    """Something tried to change or delete a line of the moderation log."""


def record(action: str, *, actor: User | int | None, now: datetime, subject: User | int | None = None,
           reason: str | None = None, profile_id: int | None = None, conversation_id: int | None = None,
           message_id: int | None = None, sanction_id: int | None = None, until: datetime | None = None,
           detail: dict | None = None) -> ModerationAction:
    """Add one line to the session's unit of work (written with the action it records).
    ``actor``: who acted, ``None`` for Switchboard itself (a filter, the scheduled end of a sanction)."""
    if action not in MODERATION_ACTIONS:
        raise ValueError(f"unknown moderation action {action!r}")
    line = ModerationAction(
        action=action, created_at=now, actor_id=_id(actor), subject_id=_id(subject),
        reason=(reason or None) and reason[:500], profile_id=profile_id, conversation_id=conversation_id,
        message_id=message_id, sanction_id=sanction_id, until=until, detail=detail)
    db.session.add(line)
    return line


def _id(user: User | int | None) -> int | None:
    return user.id if isinstance(user, User) else user


@sqlalchemy_event.listens_for(ModerationAction, "before_update")
@sqlalchemy_event.listens_for(ModerationAction, "before_delete")
def _refuse_changes(mapper, connection, line) -> None:
    raise AppendOnly("the moderation log is append-only")
