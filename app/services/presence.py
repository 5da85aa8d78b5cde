"""Presence: a user is online while one of their pages shows signs of life.

The signs: an open WebSocket — each socket is a member of a Redis sorted set per user, scored by
its last sign of life, so a socket held by a process that died stops counting after
``PRESENCE_STALE_SECONDS`` — and, for moderators, the page's heartbeat (every 2 minutes, also while its
socket is down). The database's ``is_online`` follows (written only on transitions).

A close is never offline at once: a user's last socket closing, or a page saying it leaves (its
beacon), schedules ``confirm_offline`` after a short grace, which marks the user offline only if
no socket is open and no heartbeat came since — so a page reload does not flap.

Transitions are guarded in SQL, never decided from a loaded attribute: coming online is
``UPDATE … WHERE is_online = false``; going offline is an UPDATE guarded by the signs it relies
on, after which the sockets are looked at again and a user whose socket opened meanwhile is put
back (the socket's transaction waits for ours, so one of the two always sees the other).
"""
from __future__ import annotations

from datetime import datetime, timedelta

import redis
from flask import current_app
from sqlalchemy import and_, delete, or_, select, update

from ..clock import epoch
from ..extensions import db
from ..models import QueueEntry, Role, User
from ..redis_client import names


def _stale_seconds() -> int:
    return current_app.config["PRESENCE_STALE_SECONDS"]


def _key(user_id: int) -> str:
    return names().sockets(user_id)


def socket_alive(r: redis.Redis, user_id: int, socket_id: str, now: datetime) -> None:
    r.zadd(_key(user_id), {socket_id: epoch(now)})
    r.expire(_key(user_id), _stale_seconds() * 2)


def live_socket_count(r: redis.Redis, user_id: int, now: datetime) -> int:
    """Sockets of the user alive at ``now``. Only counts: a reader whose clock is ahead (another
    process, a job run late) must not erase sockets that are alive for the writer."""
    return r.zcount(_key(user_id), epoch(now) - _stale_seconds(), "+inf")


def _live_socket_counts(r: redis.Redis, user_ids: list[int], now: datetime) -> dict[int, int]:
    """Live sockets of many users in one round trip."""
    with r.pipeline(transaction=False) as pipe:
        for user_id in user_ids:
            pipe.zcount(_key(user_id), epoch(now) - _stale_seconds(), "+inf")
        counts = pipe.execute()
    return dict(zip(user_ids, counts))


def _come_online(user: User, now: datetime, hand_out: bool = True) -> bool:
    """Online from now unless already; a moderator who comes online is available for work
    (``moderator_available``; with ``hand_out`` false they only join the queue, and the caller
    hands out the waiting work in a transaction of its own). True on the transition."""
    came = db.session.execute(
        update(User).where(User.id == user.id, User.is_online.is_(False))
        .values(is_online=True, last_online_at=now)
        .execution_options(synchronize_session="fetch")
    ).rowcount == 1
    if came and user.role == Role.MODERATOR:
        if hand_out:
            moderator_available(user.id, now)
        else:
            from . import moderator_queue

            moderator_queue.join(user.id, now)
    return came


def moderator_available(moderator_id: int, now: datetime) -> dict[int, int]:
    """A moderator takes new work (came online, or back from a break): they stand in the queue,
    and waiting conversations nobody holds are handed out now. Returns what was assigned."""
    from . import assignment, moderator_queue

    moderator_queue.join(moderator_id, now)
    return assignment.assign_orphans(now)


def _go_offline(r: redis.Redis, user_ids: list[int], now: datetime, guard) -> list[int]:
    """Mark offline those of ``user_ids`` still online for which ``guard`` (SQL) holds, unless a
    socket of theirs opened meanwhile; they leave the queue. Returns who went offline."""
    if not user_ids:
        return []
    marked = list(db.session.scalars(
        update(User).where(User.id.in_(user_ids), User.is_online.is_(True), guard)
        .values(is_online=False).returning(User.id)
        .execution_options(synchronize_session="fetch")
    ))
    counts = _live_socket_counts(r, marked, now) if marked else {}
    back = [user_id for user_id in marked if counts[user_id] > 0]
    if back:
        db.session.execute(update(User).where(User.id.in_(back)).values(is_online=True)
                           .execution_options(synchronize_session="fetch"))
    gone = sorted(set(marked) - set(back))
    if gone:
        db.session.execute(delete(QueueEntry).where(QueueEntry.moderator_id.in_(gone))
                           .execution_options(synchronize_session=False))
    return gone


def socket_opened(r: redis.Redis, user: User, socket_id: str, now: datetime, hand_out: bool = True) -> bool:
    """Record a socket; returns True when the user just came online (see ``_come_online`` for
    ``hand_out``)."""
    socket_alive(r, user.id, socket_id, now)
    user.last_activity_at = now
    return _come_online(user, now, hand_out)


def work_waits() -> bool:
    """Does a waiting conversation have no moderator?"""
    from ..models import Conversation

    return db.session.scalar(select(Conversation.id).where(Conversation.assigned_moderator_id.is_(None),
                                                           Conversation.awaiting_reply_since.is_not(None))
                             .limit(1)) is not None


def hand_out_waiting(now: datetime) -> dict[int, int]:
    """Waiting conversations nobody holds go to the queue by load (``assignment.assign_orphans``)."""
    from . import assignment

    return assignment.assign_orphans(now)


def socket_closed(r: redis.Redis, user: User, socket_id: str, now: datetime) -> bool:
    """Forget a socket. True when it was the user's last live one: the caller schedules
    ``confirm_offline`` after the grace (the user stays online until then)."""
    with r.pipeline(transaction=False) as pipe:   # its own socket gone, and those stale at its owner's clock
        pipe.zrem(_key(user.id), socket_id)
        pipe.zremrangebyscore(_key(user.id), "-inf", f"({epoch(now) - _stale_seconds()}")
        pipe.execute()
    return live_socket_count(r, user.id, now) == 0


def heartbeat(user: User, now: datetime) -> bool:
    """The moderator page is alive (sent every 2 minutes, socket or not); True when the user
    just came online."""
    user.last_heartbeat_at = now
    return _come_online(user, now)


def confirm_offline(r: redis.Redis, user_id: int, since: datetime, now: datetime) -> bool:
    """After the grace that followed a close (or a page's goodbye) at ``since``: offline, unless a
    socket is open or a heartbeat came after ``since``. Idempotent: True only on the transition."""
    guard = or_(User.last_heartbeat_at.is_(None), User.last_heartbeat_at <= since)
    return _go_offline(r, [user_id], now, guard) == [user_id]


def _quiet_since(cutoff: datetime, *columns):
    return and_(*(or_(column.is_(None), column < cutoff) for column in columns))


def sweep_stale(r: redis.Redis, now: datetime, heartbeat_window: timedelta = timedelta(minutes=5)) -> list[int]:
    """Users marked online with no live socket (their web process died) and no heartbeat within
    ``heartbeat_window`` go offline."""
    online = list(db.session.scalars(select(User.id).where(User.is_online.is_(True))))
    counts = _live_socket_counts(r, online, now) if online else {}
    silent = [user_id for user_id in online if counts[user_id] == 0]
    return _go_offline(r, silent, now, _quiet_since(now - heartbeat_window, User.last_heartbeat_at))


def mark_idle_moderators_offline(r: redis.Redis, now: datetime, idle_seconds: int = 300) -> list[int]:
    """Online moderators with no sign for ``idle_seconds`` — no open socket, no heartbeat, no
    typing or reply, and not just connected — go offline."""
    quiet = _quiet_since(now - timedelta(seconds=idle_seconds),
                         User.last_activity_at, User.last_heartbeat_at, User.last_online_at)
    candidates = list(db.session.scalars(
        select(User.id).where(User.role == Role.MODERATOR, User.is_online.is_(True), quiet)))
    counts = _live_socket_counts(r, candidates, now) if candidates else {}
    return _go_offline(r, [user_id for user_id in candidates if counts[user_id] == 0], now, quiet)


def online_moderators() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.MODERATOR, User.is_online.is_(True))
            .order_by(User.last_online_at)
        )
    )
