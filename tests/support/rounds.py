"""A world for the notification rounds: moderators with chosen loads, client messages nobody
answered, and the mails the worker sends for them."""
from __future__ import annotations

import time
from datetime import datetime

from rq import Queue
from rq.registry import StartedJobRegistry

from app.database import write_transaction
from app.dev import outbox
from app.extensions import db
from app.models import Role, User
from app.redis_client import get_redis
from app.services import chat, moderator_queue, sending
from tests.support.factories import make_profile, make_user, token
from tests.support.waiting import wait_until

NOW = datetime(2026, 11, 23, 12, 0, 0)


def set_online(moderator_id: int, online: bool, now: datetime = NOW) -> None:
    """Put a moderator online (in the queue) or offline."""
    with write_transaction():
        db.session.get(User, moderator_id).is_online = online
        if online:
            moderator_queue.join(moderator_id, now)
        else:
            moderator_queue.leave(moderator_id)


def give_load(moderator, load: int, now: datetime) -> None:
    """``load`` active conversations for the moderator, answered just now (active, not waiting):
    they come online alone, receive them through the ordinary assignment, answer, go offline."""
    set_online(moderator.id, True, now)
    for _ in range(load):
        with write_transaction():
            posted = sending.post_client_message(make_user(), make_profile().id, "hello?", token(), now)
        with write_transaction():
            chat.post_profile_reply(moderator, posted.message.conversation_id, "hi!", token(), now)
    set_online(moderator.id, False, now)


def moderators_with_loads(loads, now: datetime, **extra) -> list:
    """Offline moderators, one per load, created in that order."""
    created = []
    for index, load in enumerate(loads):
        moderator = make_user(Role.MODERATOR, display_name=f"Load {load} #{index}", **extra)
        give_load(moderator, load, now)
        created.append(moderator)
    return created


def post_waiting(count: int, at: datetime, clients: int = 2) -> list[int]:
    """``count`` client messages (from a few clients) nobody answered; returns their conversation ids."""
    people = [(make_user(), make_profile(f"Waiting {i}")) for i in range(clients)]
    conversations = set()
    for i in range(count):
        client, profile = people[i % clients]
        with write_transaction():
            conversations.add(sending.post_client_message(client, profile.id, f"message {i}", token(), at)
                              .message.conversation_id)
    return sorted(conversations)


def answer_all(conversation_ids, moderator, now: datetime) -> None:
    """The moderator comes online, gets the waiting conversations and answers each."""
    from app.services import assignment

    moderator = db.session.get(User, moderator.id)
    set_online(moderator.id, True, now)
    with write_transaction():
        assignment.assign_orphans(now)
    for conversation_id in conversation_ids:
        with write_transaction():
            chat.post_profile_reply(moderator, conversation_id, "sorry for the wait", token(), now)


def mails_to(sink, emails) -> list[dict]:
    """The mails in the sink addressed to any of ``emails``."""
    return [m for m in outbox.list_mails(sink, limit=1000) if set(m["recipients"]) & set(emails)]


def worker_idle() -> bool:
    """Nothing queued or running on the queues the rounds use (mails, marking)."""
    queues = [Queue(name, connection=get_redis()) for name in ("high", "default")]
    return all(queue.count == 0 and StartedJobRegistry(queue=queue).count == 0 for queue in queues)


def settle(sink, emails, expected: int) -> list[dict]:
    """Wait for ``expected`` mails to ``emails``, then for the worker to be idle, and return them all."""
    wait_until(lambda: len(mails_to(sink, emails)) >= expected, timeout=30)
    wait_until(worker_idle, timeout=30)
    time.sleep(0.5)
    return mails_to(sink, emails)
