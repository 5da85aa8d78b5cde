"""What an open page's socket tells the domain: it opened, it is alive, its moderator types, it
closed. Each call is a unit of work of its own (the socket has no request around it); what must
be pushed follows the commit (``events``)."""
from __future__ import annotations

from datetime import datetime

import redis
from flask import current_app

from ..database import write_transaction
from ..extensions import db
from ..models import User
from . import inactivity, locks, presence


def opened(r: redis.Redis, user_id: int, socket_id: str, now: datetime) -> bool:
    """A page of the user connected: they are online (a moderator coming online takes waiting
    work). True when they just came online."""
    with write_transaction():
        user = db.session.get(User, user_id)
        return user is not None and presence.socket_opened(r, user, socket_id, now)


def alive(r: redis.Redis, user_id: int, socket_id: str, now: datetime) -> None:
    """The page's socket still stands (presence counts it)."""
    presence.socket_alive(r, user_id, socket_id, now)


def typed(user_id: int, conversation_id: int | None, now: datetime) -> int | None:
    """A moderator typed (in ``conversation_id``, if the page said): activity, and the profile is
    locked for them while they answer. Returns the profile locked now, if any."""
    with write_transaction():
        user = db.session.get(User, user_id)
        if user is None or not user.is_moderator:
            return None
        inactivity.record_activity(user, now)
        if conversation_id is None:
            return None
        return locks.start_answering(conversation_id, user_id, now, current_app.config["PROFILE_LOCK_SECONDS"])


def closed(r: redis.Redis, user_id: int, socket_id: str, now: datetime) -> None:
    """A socket closed. The user's last one is not offline yet: a check after the grace decides
    (a reload opens a new socket meanwhile)."""
    user = db.session.get(User, user_id)
    if user is not None and presence.socket_closed(r, user, socket_id, now):
        from ..jobs.presence import schedule_offline_check

        schedule_offline_check(user_id, now)
