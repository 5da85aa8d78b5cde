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

from sqlalchemy import bindparam, delete, func, select, update

from ..database import dialect_insert, cached_statement
from ..extensions import db
from ..models import AssignmentChange, ChangeReason, Conversation, Profile, ProfileAssignment, QueueEntry, Role, User

STATS_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class Status:
    in_queue: bool
    position: int | None = None
    queued: int = 0
    estimated_wait_seconds: int | None = None
    waiting_unassigned: int = 0
    profiles_available: int = 0  # active profiles nobody holds: the next ones to be handed out


def join(moderator_id: int, now: datetime, priority: int = 0) -> None:
    """Stand in the queue (no-op if already in it: their place is kept), with their current load."""
    from .assignment import load_of

    db.session.execute(
        dialect_insert(QueueEntry).values(moderator_id=moderator_id, queued_at=now, priority=priority,
                                          load=load_of(moderator_id, now))
        .on_conflict_do_nothing(index_elements=["moderator_id"])
    )


def adjust_load(moderator_id: int, delta: int) -> None:
    """Work changed hands: ``load = load + delta`` in the same transaction (a no-op for someone
    not in the queue: their load is counted when they join)."""
    adjust_loads({moderator_id: delta})


def adjust_loads(deltas: dict[int, int]) -> None:
    """``adjust_load`` for several moderators, in one statement."""
    params = [{"mid": moderator_id, "delta": delta} for moderator_id, delta in sorted(deltas.items()) if delta]
    if params:
        q = QueueEntry.__table__.c
        db.session.execute(cached_statement(("adjust_load",), lambda: update(QueueEntry.__table__)
                                    .where(q.moderator_id == bindparam("mid")).values(load=q.load + bindparam("delta"))),
                           params)


def resync_loads(now: datetime) -> int:
    """Set every queued moderator's counter to the exact count. Conversations stop being active
    with time (30 min without traffic) and no event says so: this catches them up. Takes turns
    with the decisions. Returns how many counters were off."""
    from .assignment import _serialize_decisions, active_load_subquery

    _serialize_decisions()
    loads = active_load_subquery(now)
    exact = dict(db.session.execute(select(loads.c.moderator_id, loads.c.load)).all())
    off = 0
    for moderator_id, counted in db.session.execute(select(QueueEntry.moderator_id, QueueEntry.load)).all():
        if exact.get(moderator_id, 0) != counted:
            off += 1
            db.session.execute(update(QueueEntry).where(QueueEntry.moderator_id == moderator_id)
                               .values(load=exact.get(moderator_id, 0)).execution_options(synchronize_session=False))
    return off


def leave(moderator_id: int) -> bool:
    result = db.session.execute(delete(QueueEntry).where(QueueEntry.moderator_id == moderator_id)
                                .execution_options(synchronize_session=False))
    return result.rowcount == 1


def order(now: datetime):
    """(moderator id, load) of everyone in the queue, in the order they get new work."""
    return db.session.execute(
        select(QueueEntry.moderator_id, QueueEntry.load)
        .join(User, User.id == QueueEntry.moderator_id)
        .where(User.role == Role.MODERATOR, User.is_online.is_(True), User.active.is_(True))
        .order_by(QueueEntry.load, QueueEntry.priority.desc(), QueueEntry.queued_at, QueueEntry.moderator_id)
    ).all()


def seconds_between_new_conversations(now: datetime, default: int) -> float:
    """How often new work arrived lately (first assignments in the last 30 minutes); with fewer
    than 5 of them the rate says little, and the configured default is used."""
    count = db.session.scalar(select(func.count()).select_from(AssignmentChange).where(
        AssignmentChange.reason == ChangeReason.NEW, AssignmentChange.changed_at >= now - STATS_WINDOW))
    return STATS_WINDOW.total_seconds() / count if count >= 5 else float(default)


def statuses(now: datetime, default_wait: int = 60) -> dict[int, Status]:
    """Every queued moderator's status, from one read of the order (pushes refresh them all)."""
    ranking = [mid for mid, _ in order(now)]
    waiting_unassigned = db.session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.awaiting_reply_since.is_not(None), Conversation.assigned_moderator_id.is_(None)))
    every = seconds_between_new_conversations(now, default_wait) if ranking else float(default_wait)
    free = db.session.scalar(select(func.count()).select_from(Profile).where(
        Profile.active.is_(True), ~select(ProfileAssignment.profile_id)
        .where(ProfileAssignment.profile_id == Profile.id).exists()))
    result = {}
    for position, moderator_id in enumerate(ranking, start=1):
        wait = 0 if waiting_unassigned >= position else round((position - waiting_unassigned) * every)
        result[moderator_id] = Status(in_queue=True, position=position, queued=len(ranking),
                                      estimated_wait_seconds=wait, waiting_unassigned=waiting_unassigned,
                                      profiles_available=free)
    result[None] = Status(in_queue=False, queued=len(ranking), waiting_unassigned=waiting_unassigned,
                          profiles_available=free)
    return result


def status(moderator_id: int, now: datetime, default_wait: int = 60) -> Status:
    everyone = statuses(now, default_wait)
    return everyone.get(moderator_id, everyone[None])


def queued_moderator_ids() -> list[int]:
    return list(db.session.scalars(select(QueueEntry.moderator_id)))
