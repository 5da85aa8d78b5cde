"""Skeleton assignment rule: a waiting conversation goes to the online moderator with the
fewest active conversations.

Invariants and their guards:

* a conversation has at most one moderator: the claim is a single compare-and-set
  ``UPDATE … WHERE assigned_moderator_id IS NULL`` checked by its rowcount (a move names the
  holder it read the same way), exact on PostgreSQL at READ COMMITTED with many processes and
  on SQLite; callers run it inside ``write_transaction`` (``BEGIN IMMEDIATE`` on SQLite);
* work is spread by load: least-loaded picks take turns (a transaction-scoped advisory lock on
  PostgreSQL, the write lock on SQLite), so concurrent new conversations do not all land on
  the same "least loaded" moderator.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, text, update

from ..extensions import db
from ..models import AssignmentChange, ChangeReason, Conversation, Role, User

ACTIVE_WINDOW = timedelta(minutes=30)


def active_load_subquery(now: datetime):
    """Active conversations per moderator: waiting, or traffic in the last 30 minutes."""
    return (
        select(Conversation.assigned_moderator_id.label("moderator_id"), func.count().label("load"))
        .where(
            Conversation.assigned_moderator_id.is_not(None),
            or_(
                Conversation.awaiting_reply_since.is_not(None),
                Conversation.last_message_at >= now - ACTIVE_WINDOW,
            ),
        )
        .group_by(Conversation.assigned_moderator_id)
        .subquery()
    )


def least_loaded_online_moderator(now: datetime, exclude: set[int] | None = None) -> int | None:
    """The first of the moderator queue: lowest load, then queue order (see services.queue).
    Call it in the write transaction that acts on the answer (decisions take turns)."""
    from ..models import QueueEntry

    _serialize_decisions()
    loads = active_load_subquery(now)
    load = func.coalesce(loads.c.load, 0)
    query = (
        select(User.id)
        .join(QueueEntry, QueueEntry.moderator_id == User.id)
        .outerjoin(loads, loads.c.moderator_id == User.id)
        .where(User.role == Role.MODERATOR, User.is_online.is_(True), User.active.is_(True))
        .order_by(load, QueueEntry.priority.desc(), QueueEntry.queued_at, User.id)
        .limit(1)
    )
    if exclude:
        query = query.where(User.id.not_in(exclude))
    return db.session.scalar(query)


def record_change(conversation_id: int, from_id: int | None, to_id: int | None, reason: ChangeReason,
                  now: datetime) -> None:
    """Every change of hands is written down, in the transaction that makes it."""
    db.session.add(AssignmentChange(conversation_id=conversation_id, from_moderator_id=from_id,
                                    to_moderator_id=to_id, reason=reason, changed_at=now))


ASSIGNMENT_LOCK_KEY = 0x5B0A  # one PostgreSQL advisory lock for "who gets new work"


def _serialize_decisions() -> None:
    """Least-loaded picks read loads; two concurrent picks would both see the same moderator as
    least loaded and pile work on them. On PostgreSQL a transaction-scoped advisory lock makes
    the decisions take turns (the read happens after the lock); SQLite's BEGIN IMMEDIATE
    already serializes write transactions."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ASSIGNMENT_LOCK_KEY})


def assign_if_unassigned(conversation_id: int, now: datetime,
                         reason: ChangeReason = ChangeReason.NEW) -> int | None:
    """Give a conversation without a moderator to the least-loaded online one.

    Returns the moderator this call assigned, or None when nobody is online or another
    process assigned it first (the compare-and-set lost).
    """
    moderator_id = least_loaded_online_moderator(now)
    if moderator_id is None:
        return None
    result = db.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.assigned_moderator_id.is_(None))
        .values(assigned_moderator_id=moderator_id, assigned_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        from . import conflicts

        conflicts.record("claim_race", now, conversation_id=conversation_id, moderator_ids=[moderator_id],
                         detail="another process assigned it first",
                         resolution="kept by the first claimer (compare-and-set)")
        return None
    record_change(conversation_id, None, moderator_id, reason, now)
    return moderator_id


def assign_orphans(now: datetime, limit: int = 200) -> dict[int, int]:
    """Assign waiting conversations that have no moderator (none was online when they arrived).

    Returns {conversation_id: moderator_id} for the ones assigned by this call.
    """
    orphan_ids = list(
        db.session.scalars(
            select(Conversation.id)
            .where(Conversation.assigned_moderator_id.is_(None), Conversation.awaiting_reply_since.is_not(None))
            .order_by(Conversation.awaiting_reply_since)
            .limit(limit)
        )
    )
    assigned = {}
    for conversation_id in orphan_ids:
        moderator_id = assign_if_unassigned(conversation_id, now)
        if moderator_id is not None:
            assigned[conversation_id] = moderator_id
        elif least_loaded_online_moderator(now) is None:
            break
    return assigned


def release_moderator_conversations(moderator_id: int, now: datetime,
                                    reason: ChangeReason = ChangeReason.DISCONNECT) -> list[int]:
    """Unassign a moderator's conversations (account disabled); they become orphans again."""
    ids = list(
        db.session.scalars(select(Conversation.id).where(Conversation.assigned_moderator_id == moderator_id))
    )
    if ids:
        db.session.execute(
            update(Conversation)
            .where(and_(Conversation.id.in_(ids), Conversation.assigned_moderator_id == moderator_id))
            .values(assigned_moderator_id=None, assigned_at=None, last_moved_at=now)
            .execution_options(synchronize_session=False)
        )
        for conversation_id in ids:
            record_change(conversation_id, moderator_id, None, reason, now)
    return ids


def reassign(conversation_id: int, to_moderator_id: int, now: datetime, reason: ChangeReason) -> bool:
    """Move a conversation to another moderator (admin by hand, balancing, inactivity).

    Guarded like a claim: the UPDATE names the holder it read, so two movers cannot both win.
    """
    current = db.session.scalar(select(Conversation.assigned_moderator_id).where(Conversation.id == conversation_id))
    if current == to_moderator_id:
        return False
    holder = Conversation.assigned_moderator_id.is_(None) if current is None else \
        Conversation.assigned_moderator_id == current
    result = db.session.execute(
        update(Conversation).where(Conversation.id == conversation_id, holder)
        .values(assigned_moderator_id=to_moderator_id, assigned_at=now, last_moved_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    record_change(conversation_id, current, to_moderator_id, reason, now)
    return True
