"""The moderator queue.

Online moderators who accept new work stand in the queue; they leave it when they go offline
or step out (a break), and rejoin at the back. New work goes to the least-loaded moderator in
the queue; equal loads go by queue order: priority (higher first), then the time they joined,
then id — so moderators connecting in the same instant are ordered by connection time, then id.
A moderator's *position* is their rank in that order: 1 gets the next conversation.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, true

from ..database import dialect_insert
from ..extensions import db
from ..models import AssignmentChange, ChangeReason, Conversation, Profile, ProfileAssignment, QueueEntry, Role, User
from . import events
from .activity import load_of


@dataclass(frozen=True)
class Status:
    in_queue: bool
    position: int | None = None
    queued: int = 0
    estimated_wait_seconds: int | None = None
    waiting_unassigned: int = 0
    profiles_available: int = 0  # active profiles nobody holds: the next ones to be handed out
    holding_waiting: int = 0  # conversations this moderator holds that wait for their reply

    @property
    def position_means_something(self) -> bool:
        """Their rank says something only with others in the queue; with their own clients
        waiting, the wait for a *new* conversation is not what they need to know."""
        return self.in_queue and self.queued > 1


def available(user=User):
    """An online, active moderator (over ``user``: the model, an alias or a table's columns).
    ``= true``, not ``IS TRUE``: PostgreSQL's extended statistics on these columns only help then."""
    return (user.role == Role.MODERATOR) & (user.is_online == true()) & (user.active == true())


def in_queue_order(query):
    """``query`` over ``QueueEntry`` ordered as new work is handed out: lowest load first, then
    priority (higher first), queue time, id (the index ``ix_moderator_queue_pick``)."""
    return query.order_by(QueueEntry.load, QueueEntry.priority.desc(), QueueEntry.queued_at, QueueEntry.moderator_id)


def next_in_line(user=User):
    """The first of the queue whose moderator is available, as a query: a walk of the queue in
    its order (the index ``ix_moderator_queue_pick``) that stops at the first available. Whether
    the moderator is available is a subquery per queued row, not a join: a join lets the planner
    start from the online moderators when its statistics say few are online (as they do after
    many came online since the last ANALYZE), and then read and sort every one of them."""
    is_available = (select(available(user)).where(user.id == QueueEntry.moderator_id)
                    .correlate(QueueEntry).scalar_subquery())
    return in_queue_order(select(QueueEntry.moderator_id).where(is_available)).limit(1)


def join(moderator_id: int, now: datetime, priority: int = 0) -> None:
    """Stand in the queue (no-op if already in it: their place is kept), with their current load."""
    joined = db.session.execute(
        dialect_insert(QueueEntry).values(moderator_id=moderator_id, queued_at=now, priority=priority,
                                          load=load_of(moderator_id, now))
        .on_conflict_do_nothing(index_elements=["moderator_id"])
    ).rowcount
    if joined:
        events.record(events.QueueChanged())


def leave(moderator_id: int) -> bool:
    result = db.session.execute(delete(QueueEntry).where(QueueEntry.moderator_id == moderator_id)
                                .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    events.record(events.QueueChanged())
    return True


def order(now: datetime):
    """(moderator id, load) of everyone in the queue, in the order they get new work."""
    return db.session.execute(in_queue_order(
        select(QueueEntry.moderator_id, QueueEntry.load).join(User, User.id == QueueEntry.moderator_id)
        .where(available()))).all()


def seconds_between_new_conversations(now: datetime, default: int) -> float:
    """How often new work arrived lately (first assignments in the last ``QUEUE_STATS_WINDOW_SECONDS``);
    with fewer than 5 of them the rate says little, and the configured default is used."""
    window = timedelta(seconds=current_app.config["QUEUE_STATS_WINDOW_SECONDS"])
    count = db.session.scalar(select(func.count()).select_from(AssignmentChange).where(
        AssignmentChange.reason == ChangeReason.NEW, AssignmentChange.changed_at >= now - window))
    return window.total_seconds() / count if count >= 5 else float(default)


def statuses(now: datetime, default_wait: int = 60) -> dict[int, Status]:
    """Every queued moderator's status, from one read of the order (pushes refresh them all)."""
    ranking = [mid for mid, _ in order(now)]
    waiting_unassigned = db.session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.awaiting_reply_since.is_not(None), Conversation.assigned_moderator_id.is_(None)))
    every = seconds_between_new_conversations(now, default_wait) if ranking else float(default_wait)
    free = db.session.scalar(select(func.count()).select_from(Profile).where(
        Profile.active.is_(True), ~select(ProfileAssignment.profile_id)
        .where(ProfileAssignment.profile_id == Profile.id).exists()))
    holding = dict(db.session.execute(  # a join, not an IN list of every queued id (rendered and parsed per read)
        select(Conversation.assigned_moderator_id, func.count())
        .join(QueueEntry, QueueEntry.moderator_id == Conversation.assigned_moderator_id)
        .where(Conversation.awaiting_reply_since.is_not(None))
        .group_by(Conversation.assigned_moderator_id)).all()) if ranking else {}
    result = {}
    for position, moderator_id in enumerate(ranking, start=1):
        wait = 0 if waiting_unassigned >= position else round((position - waiting_unassigned) * every)
        result[moderator_id] = Status(in_queue=True, position=position, queued=len(ranking),
                                      estimated_wait_seconds=wait, waiting_unassigned=waiting_unassigned,
                                      profiles_available=free, holding_waiting=holding.get(moderator_id, 0))
    result[None] = Status(in_queue=False, queued=len(ranking), waiting_unassigned=waiting_unassigned,
                          profiles_available=free)
    return result


def holding_waiting(moderator_id: int) -> int:
    """How many of the conversations this moderator holds wait for their reply."""
    return db.session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.assigned_moderator_id == moderator_id, Conversation.awaiting_reply_since.is_not(None)))


def status(moderator_id: int, now: datetime, default_wait: int = 60) -> Status:
    everyone = statuses(now, default_wait)
    if moderator_id in everyone:
        return everyone[moderator_id]
    return replace(everyone[None], holding_waiting=holding_waiting(moderator_id))


def queued_locales() -> dict[int, str]:
    """Every queued moderator's language, by id: all that their queue panels need of them."""
    return dict(db.session.execute(select(User.id, User.locale)
                                   .join(QueueEntry, QueueEntry.moderator_id == User.id)).all())


def queued_moderator_ids() -> list[int]:
    return list(db.session.scalars(select(QueueEntry.moderator_id)))
