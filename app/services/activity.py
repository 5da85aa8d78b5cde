"""Load and activity: which conversations count in a moderator's load, and the counters that follow.

A conversation is **active** while a client message waits for an answer, or while it had traffic
in the last ``ACTIVE_WINDOW_SECONDS`` (a setting, 30 minutes by default). A moderator's **load** is
the number of active conversations they hold.

Invariants and their guards:

* **the queue's load counter is exact after every change of hands**: ``moderator_queue.load``
  moves only as ``load = load ± n`` in the transaction that changes hands (``adjust_loads``),
  never written back from a value read earlier; conversations that go quiet with time (no event
  says so) are caught up by ``resync_loads``, which the monitoring pass runs;
* **decisions read loads after taking their turn**: ``take_decision_turn`` (a transaction-scoped
  advisory lock on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), so
  concurrent new conversations do not all land on the same "least loaded" moderator.

``is_active`` (Python) and ``active_condition`` (SQL) are the one definition of "active".
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import DateTime, bindparam, func, or_, select, text, update

from ..database import cached_statement
from ..extensions import db
from ..models import Conversation, QueueEntry

ASSIGNMENT_LOCK_KEY = 0x5B0A  # one PostgreSQL advisory lock for "who gets new work"


def window() -> timedelta:
    """How long traffic keeps a conversation active (``ACTIVE_WINDOW_SECONDS``)."""
    return timedelta(seconds=current_app.config["ACTIVE_WINDOW_SECONDS"])


def active_since(now: datetime) -> datetime:
    """Traffic at or after this instant keeps a conversation active."""
    return now - window()


def is_active(awaiting_reply_since: datetime | None, last_message_at: datetime | None, now: datetime) -> bool:
    """A conversation with these stamps is active at ``now``."""
    return awaiting_reply_since is not None or (last_message_at is not None and last_message_at >= active_since(now))


def active_condition(columns=None, since=None):
    """``is_active`` in SQL, over a conversations table (or alias, or CTE) ``columns`` (``.c``);
    ``since`` is ``active_since(now)`` or a bound parameter standing for it (default: the bound
    parameter ``active_since``, for statements built once)."""
    c = Conversation.__table__.c if columns is None else columns
    since = bindparam("active_since", type_=DateTime()) if since is None else since
    return or_(c.awaiting_reply_since.is_not(None), c.last_message_at >= since)


def count_active(rows, now: datetime) -> int:
    """How many of ``(id, awaiting_reply_since, last_message_at)`` rows are active conversations."""
    return sum(1 for _, waiting, last in rows if is_active(waiting, last, now))


def load_subquery(now: datetime):
    """Active conversations per moderator (``moderator_id``, ``load``), counted."""
    return (select(Conversation.assigned_moderator_id.label("moderator_id"), func.count().label("load"))
            .where(Conversation.assigned_moderator_id.is_not(None), active_condition(since=active_since(now)))
            .group_by(Conversation.assigned_moderator_id)
            .subquery())


def load_of(moderator_id: int, now: datetime) -> int:
    """One moderator's exact load (a count over their conversations, by index)."""
    return db.session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.assigned_moderator_id == moderator_id, active_condition(since=active_since(now))))


def load_of_conversation(conversation_id: int, now: datetime) -> int:
    """1 if the conversation is active (it counts in its holder's load), else 0."""
    return int(db.session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.id == conversation_id, active_condition(since=active_since(now)))))


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
                                            .where(q.moderator_id == bindparam("mid"))
                                            .values(load=q.load + bindparam("delta"))), params)


def resync_loads(now: datetime) -> int:
    """Set every queued moderator's counter to the exact count. Conversations stop being active
    with time and no event says so: this catches them up. Takes turns with the decisions.
    Returns how many counters were off."""
    take_decision_turn()
    loads = load_subquery(now)
    exact = dict(db.session.execute(select(loads.c.moderator_id, loads.c.load)).all())
    off = 0
    for moderator_id, counted in db.session.execute(select(QueueEntry.moderator_id, QueueEntry.load)).all():
        if exact.get(moderator_id, 0) != counted:
            off += 1
            db.session.execute(update(QueueEntry).where(QueueEntry.moderator_id == moderator_id)
                               .values(load=exact.get(moderator_id, 0)).execution_options(synchronize_session=False))
    return off


def take_decision_turn() -> None:
    """Least-loaded picks read loads; two concurrent picks would both see the same moderator as
    least loaded and pile work on them. On PostgreSQL a transaction-scoped advisory lock makes
    the decisions take turns (the read happens after the lock); SQLite's ``BEGIN IMMEDIATE``
    already serialises write transactions. Held until the transaction ends; taken once."""
    session = db.session()
    if session.get_bind().dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    if transaction is not None and session.info.get("decision_turn") is transaction:
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ASSIGNMENT_LOCK_KEY})
    if session.get_nested_transaction() is None:  # a savepoint's rollback would give the turn back
        session.info["decision_turn"] = session.get_transaction()


def decision_turn_given_back() -> None:
    """The transaction holding the turn was committed on the database behind the session's back
    (``database.locked_statement_then_commit``): a decision after it takes the turn again."""
    db.session().info.pop("decision_turn", None)
