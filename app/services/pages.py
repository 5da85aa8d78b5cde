"""What an open page's socket tells the domain: it opened, it is alive, its moderator types, it
closed. Each call is a unit of work of its own (the socket has no request around it); what must
be pushed follows the commit (``events``)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

import redis
from flask import current_app

from ..database import write_transaction
from ..extensions import db
from ..models import User
from . import inactivity, locks, presence


def opened(r: redis.Redis, user_id: int, socket_id: str, now: datetime) -> bool:
    """A page of the user connected: they are online (a moderator coming online takes waiting
    work). True when they just came online.

    Two transactions: the moderator joins the queue and that commits; then, when conversations
    wait with nobody holding them, ``ARRIVAL_GATHER_SECONDS`` later (moderators whose pages
    connect together join the queue meanwhile), the waiting work is handed out by load. Handed
    out in the first transaction, it all went to the first moderator to connect, and each of its
    profiles stayed with them."""
    with write_transaction():
        user = db.session.get(User, user_id)
        came = user is not None and presence.socket_opened(r, user, socket_id, now, hand_out=False)
        waiting = came and user.is_moderator and presence.work_waits()
    if waiting:
        gather = current_app.config["ARRIVAL_GATHER_SECONDS"]
        time.sleep(gather)  # cooperative under gevent
        with write_transaction():
            presence.hand_out_waiting(now + timedelta(seconds=gather))
    return came


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
