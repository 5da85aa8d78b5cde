"""Pending client messages: one row per client message until its conversation is answered.

Both writes sit on the message hot path, so each is a single statement.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, false, func, insert, select, update

from ..database import cached_statement
from ..extensions import db
from ..models import PendingClientMessage


def record(message_id: int, client_id: int, profile_id: int, conversation_id: int, now: datetime) -> None:
    """A client message just stored: it waits from now (one INSERT, built once). PostgreSQL's send
    statement writes the same row in SQL (``sending.postgresql``)."""
    table = PendingClientMessage.__table__
    db.session.execute(cached_statement(("pending_record",), lambda: insert(table).values(
        message_id=bindparam("b_message"), client_id=bindparam("b_client"), profile_id=bindparam("b_profile"),
        conversation_id=bindparam("b_conversation"), pending_since=bindparam("b_now"), is_notified=False,
        is_processed=False)),
        {"b_message": message_id, "b_client": client_id, "b_profile": profile_id,
         "b_conversation": conversation_id, "b_now": now})


def process_conversation(conversation_id: int, now: datetime) -> None:
    """The conversation was answered: all its waiting messages are processed (one UPDATE, built once)."""
    c = PendingClientMessage.__table__.c
    db.session.execute(cached_statement(("pending_process",), lambda: update(PendingClientMessage.__table__)
                                .where(c.conversation_id == bindparam("b_conversation"), c.is_processed == false())
                                .values(is_processed=True, processed_at=bindparam("b_now"))),
                       {"b_conversation": conversation_id, "b_now": now})


@dataclass(frozen=True)
class Summary:
    count: int
    oldest_since: datetime | None

    def oldest_wait(self, now: datetime) -> timedelta | None:
        return None if self.oldest_since is None else max(now - self.oldest_since, timedelta(0))


def summary() -> Summary:
    """How many messages wait, and since when the oldest (an index-only read of the unprocessed rows)."""
    count, oldest = db.session.execute(
        select(func.count(), func.min(PendingClientMessage.pending_since))
        .where(PendingClientMessage.is_processed == false())
    ).one()
    return Summary(count, oldest)


def mark_notified(up_to: datetime, limit: int = 5000) -> int:
    """Up to ``limit`` messages waiting since ``up_to`` or before and not notified yet are now (a
    round told moderators about them). Callers repeat it, each time in a short transaction, until
    it marks fewer than ``limit``: a reply never waits long behind the marking of a large backlog
    (the rows an UPDATE changes stay locked until it commits)."""
    batch = (select(PendingClientMessage.id)
             .where(PendingClientMessage.is_processed == false(), PendingClientMessage.is_notified == false(),
                    PendingClientMessage.pending_since <= up_to)
             .order_by(PendingClientMessage.pending_since)  # oldest first, read in the state index's order
             .limit(limit).scalar_subquery())
    return db.session.execute(
        update(PendingClientMessage).where(PendingClientMessage.id.in_(batch)).values(is_notified=True)
        .execution_options(synchronize_session=False)
    ).rowcount
