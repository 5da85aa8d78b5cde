"""The moderator queue.

Online moderators who accept new work stand in the queue; they leave it when they go offline
or step out (a break), and rejoin at the back. New work goes to the least-loaded moderator in
the queue; equal loads go by queue order: priority (higher first), then the time they joined,
then id — so moderators connecting in the same instant are ordered by connection time, then id.
A moderator's *position* is their rank in that order: 1 gets the next conversation.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from ..database import dialect_insert
from ..extensions import db
from ..models import AssignmentChange, ChangeReason, Conversation, QueueEntry, Role, User

STATS_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class Status:
    in_queue: bool
    position: int | None = None
    queued: int = 0
    estimated_wait_seconds: int | None = None
    waiting_unassigned: int = 0


def join(moderator_id: int, now: datetime, priority: int = 0) -> None:
    """Stand in the queue (no-op if already in it: their place is kept)."""
    db.session.execute(
        dialect_insert(QueueEntry).values(moderator_id=moderator_id, queued_at=now, priority=priority)
        .on_conflict_do_nothing(index_elements=["moderator_id"])
    )


def leave(moderator_id: int) -> bool:
    result = db.session.execute(delete(QueueEntry).where(QueueEntry.moderator_id == moderator_id)
                                .execution_options(synchronize_session=False))
    return result.rowcount == 1


def order(now: datetime):
    """(moderator id, load) of everyone in the queue, in the order they get new work."""
    from .assignment import active_load_subquery

    loads = active_load_subquery(now)
    load = func.coalesce(loads.c.load, 0)
    return db.session.execute(
        select(QueueEntry.moderator_id, load)
        .join(User, User.id == QueueEntry.moderator_id)
        .outerjoin(loads, loads.c.moderator_id == QueueEntry.moderator_id)
        .where(User.role == Role.MODERATOR, User.is_online.is_(True), User.active.is_(True))
        .order_by(load, QueueEntry.priority.desc(), QueueEntry.queued_at, QueueEntry.moderator_id)
    ).all()


def seconds_between_new_conversations(now: datetime, default: int) -> float:
    """How often new work arrived lately (first assignments in the last 30 minutes); with fewer
    than 5 of them the rate says little, and the configured default is used."""
    count = db.session.scalar(select(func.count()).select_from(AssignmentChange).where(
        AssignmentChange.reason == ChangeReason.NEW, AssignmentChange.changed_at >= now - STATS_WINDOW))
    return STATS_WINDOW.total_seconds() / count if count >= 5 else float(default)


def status(moderator_id: int, now: datetime, default_wait: int = 60) -> Status:
    ranking = [mid for mid, _ in order(now)]
    waiting_unassigned = db.session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.awaiting_reply_since.is_not(None), Conversation.assigned_moderator_id.is_(None)))
    if moderator_id not in ranking:
        return Status(in_queue=False, queued=len(ranking), waiting_unassigned=waiting_unassigned)
    position = ranking.index(moderator_id) + 1
    wait = 0 if waiting_unassigned >= position else round(
        (position - waiting_unassigned) * seconds_between_new_conversations(now, default_wait))
    return Status(in_queue=True, position=position, queued=len(ranking), estimated_wait_seconds=wait,
                  waiting_unassigned=waiting_unassigned)


def queued_moderator_ids() -> list[int]:
    return list(db.session.scalars(select(QueueEntry.moderator_id)))
