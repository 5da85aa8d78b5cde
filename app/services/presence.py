"""Presence from open WebSockets: a user is online while one of their sockets is alive.

Each socket is a member of a Redis sorted set per user, scored by its last sign of life, so a
socket held by a process that died stops counting after ``STALE_SECONDS``. The database's
``is_online`` follows the set (written only on transitions).
"""
from __future__ import annotations

from datetime import datetime

import redis

from ..extensions import db
from ..models import User

STALE_SECONDS = 90


def _key(user_id: int) -> str:
    return f"sb:sockets:{user_id}"


def socket_alive(r: redis.Redis, user_id: int, socket_id: str, now: datetime) -> None:
    r.zadd(_key(user_id), {socket_id: now.timestamp()})
    r.expire(_key(user_id), STALE_SECONDS * 2)


def live_socket_count(r: redis.Redis, user_id: int, now: datetime) -> int:
    r.zremrangebyscore(_key(user_id), "-inf", now.timestamp() - STALE_SECONDS)
    return r.zcard(_key(user_id))


def socket_opened(r: redis.Redis, user: User, socket_id: str, now: datetime) -> bool:
    """Record a socket; returns True when the user just came online."""
    socket_alive(r, user.id, socket_id, now)
    user.last_activity_at = now
    if user.is_online:
        return False
    user.is_online = True
    user.last_online_at = now
    if user.is_moderator:
        from . import queue

        queue.join(user.id, now)
    return True


def socket_closed(r: redis.Redis, user: User, socket_id: str, now: datetime) -> bool:
    """Forget a socket; returns True when the user just went offline."""
    r.zrem(_key(user.id), socket_id)
    if live_socket_count(r, user.id, now) > 0 or not user.is_online:
        return False
    user.is_online = False
    _leave_queue(user.id)
    return True


def _leave_queue(user_id: int) -> None:
    from . import queue

    queue.leave(user_id)


def sweep_stale(r: redis.Redis, now: datetime) -> list[int]:
    """Users marked online whose sockets all vanished (their web process died) go offline."""
    from sqlalchemy import select

    stale = []
    for user in db.session.scalars(select(User).where(User.is_online.is_(True))):
        if live_socket_count(r, user.id, now) == 0:
            user.is_online = False
            _leave_queue(user.id)
            stale.append(user.id)
    return stale


def online_moderators() -> list[User]:
    from sqlalchemy import select

    from ..models import Role

    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.MODERATOR, User.is_online.is_(True))
            .order_by(User.last_online_at)
        )
    )
