"""PostgreSQL: a client's message in a conversation they have, or their first to a profile, stored
by one statement.

Data-modifying CTEs check the sender (an active client with no running ban or mute), find their
conversation with the (active) profile, store the message (unless its token was stored before),
its pending row and the conversation's counters, and return them with the profile, the holder, the
profile's lock and the sender. The statement must stay under psycopg's 4,096 bytes, past which
psycopg parses it again at every run (the send path's tests check it): hence its one-letter names
(``t`` the target conversation, ``m`` the stored message, ``k`` the counted conversation, ``q`` its
pending row, ``s`` the sender, ``l`` the profile's lock, ``x`` a sanction).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, bindparam, false, insert, literal, select, true

from ...database import cached_statement, dialect_insert
from ...extensions import db
from ...models import (ClientLock, Conversation, Message, PendingClientMessage, Profile, ProfileAssignment, ProfileLock,
                       Role, Sanction, User)
from ...models.chat import Sender
from .. import activity, assignment
from ..snapshots import ConversationSnapshot
from . import rows

SENDER = User.__table__.alias("s")
LOCKS = ProfileLock.__table__.alias("l")
SANCTIONS = Sanction.__table__.alias("x")
HELD = ProfileAssignment.__table__.alias("a")
APPROACH = ClientLock.__table__.alias("o")


def store(client_id: int, profile_id: int, body: str, token: str, now: datetime, session_version: int,
          held_and_active: bool = False):
    """``(conversation, Posted, was_active, None)`` as snapshots, or None when nothing was stored: not an
    active client, no such conversation, a hidden profile, or the token was stored before; with
    ``held_and_active``, also when no moderator holds the conversation or it had gone quiet."""
    statement = cached_statement(("sending.postgresql", held_and_active), lambda: _statement(held_and_active))
    return _stored(statement, client_id, profile_id, body, token, now, session_version, opening=False)


def store_first(client_id: int, profile_id: int, body: str, token: str, now: datetime, session_version: int):
    """A client's first message to a profile: the conversation created (waiting, counted), the
    message and its pending row, in one statement; the same ``(conversation, Posted, was_active, seen)``
    as ``store`` (nobody holds it yet: the decision follows; ``seen``: the statement also read who
    holds the profile and who approaches the client, ``assignment.Seen``, what the usual decision
    needs to know before it takes its turn), or None when nothing was stored: not
    an active client, a banned or muted one, a hidden or missing profile, or the conversation
    exists (created meanwhile, or ``store`` did not take the message: the checked path says why)."""
    statement = cached_statement(("sending.postgresql.first",), _first_statement)
    return _stored(statement, client_id, profile_id, body, token, now, session_version, opening=True)


def _stored(statement, client_id: int, profile_id: int, body: str, token: str, now: datetime, session_version: int,
            opening: bool):
    """Run one of the statements: its row as ``(conversation, Posted, was_active, seen)``, or None;
    ``seen`` is read from the opening's row only (the other statements do not read it: None)."""
    row = db.session.connection().execute(statement, _params(client_id, profile_id, body, token, now,
                                                             session_version)).first()
    if row is None:
        return None
    row = row._mapping
    conversation: ConversationSnapshot = rows.conversation_snapshot(row)
    seen = assignment.Seen(row["a_holder"], row["o_approaching"]) if opening else None
    return conversation, rows.linked(rows.message_snapshot(row), conversation, row), row["was_active"], seen


def _params(client_id: int, profile_id: int, body: str, token: str, now: datetime, session_version: int) -> dict:
    return {"client_": client_id, "session_version_": session_version, "profile_": profile_id, "sender_": Sender.CLIENT, "author_id_": client_id,
            "body_": body, "client_token_": token, "created_at_": now, "now_": now,
            "active_since_": activity.active_since(now)}


def _pending_row(stored):
    """The pending row of the message being inserted (``stored``, the ``INSERT … RETURNING`` CTE):
    written only when the message was (``pending.record``'s row, in SQL)."""
    return (insert(PendingClientMessage.__table__)
            .from_select(["message_id", "client_id", "profile_id", "conversation_id", "pending_since", "is_notified",
                          "is_processed"],
                         select(stored.c.id, bindparam("client_", type_=Integer), bindparam("profile_", type_=Integer),
                                stored.c.conversation_id, stored.c.created_at, false(), false()))
            .cte("q"))


def _statement(held_and_active: bool):
    c, p = Conversation.__table__.c, Profile.__table__.c
    sender = SENDER.c
    was_active = activity.active_condition(c, bindparam("active_since_", type_=DateTime()))
    # Held and active: ``was_active`` is the condition, true on every row (not computed twice: the
    # statement stays under psycopg's size limit).
    target = (select(c.id, (true() if held_and_active else was_active).label("was_active"))
              .join_from(Conversation.__table__, Profile.__table__, p.id == c.profile_id)
              .join(SENDER, sender.id == c.client_id)
              .where(c.client_id == bindparam("client_"), c.profile_id == bindparam("profile_"), p.active.is_(True),
                     sender.role == Role.CLIENT, sender.active.is_(True),
                     sender.session_version <= bindparam("session_version_"),
                     rows.not_sanctioned(sender.id, SANCTIONS)))
    if held_and_active:
        target = target.where(c.assigned_moderator_id.is_not(None), was_active)
    target = target.cte("t")
    messages = Message.__table__
    stored = (dialect_insert(messages)
              .from_select(["conversation_id", "sender", "author_id", "body", "client_token", "created_at"],
                           select(target.c.id, *(bindparam(f"{name}_", type_=messages.c[name].type) for name in
                                                 ("sender", "author_id", "body", "client_token", "created_at"))))
              .on_conflict_do_nothing(index_elements=["conversation_id", "client_token"])
              .returning(*(messages.c[name] for name in rows.MESSAGE.names))
              .cte("m"))
    counted = (rows.counters(select(stored.c.conversation_id).scalar_subquery())
               .returning(*rows.CONVERSATION_COLUMNS)
               .cte("k"))
    locks_table, users = LOCKS, User.__table__
    return (select(*rows.MESSAGE.labelled(stored), *rows.CONVERSATION.labelled(counted),
                   *rows.PROFILE.labelled(Profile.__table__), *rows.HOLDER.labelled(users),
                   *rows.LOCK.labelled(locks_table), *rows.SENDER_COLUMNS.labelled(SENDER), target.c.was_active)
            .select_from(stored.join(counted, counted.c.id == stored.c.conversation_id)
                         .join(target, target.c.id == counted.c.id)
                         .join(Profile.__table__, p.id == counted.c.profile_id)
                         .join(SENDER, sender.id == counted.c.client_id)
                         .outerjoin(users, users.c.id == counted.c.assigned_moderator_id)
                         .outerjoin(locks_table, locks_table.c.profile_id == counted.c.profile_id))
            .add_cte(_pending_row(stored)))


def _first_statement():
    """``store_first``'s statement (``n`` the new conversation, then as ``_statement``). The new
    row has its counters from the start: a later CTE of the statement could not see it to count.
    Also the profile's holder (``a``) and who approaches the client (``o``, an unexpired lock), for
    the decision that follows."""
    c, p, sender = Conversation.__table__, Profile.__table__, SENDER.c
    now = bindparam("now_", type_=DateTime())
    checked = (select(sender.id, p.c.id, now, literal(1), now, now, now)
               .select_from(SENDER).join(p, p.c.id == bindparam("profile_", type_=Integer))
               .where(sender.id == bindparam("client_", type_=Integer), p.c.active.is_(True),
                      sender.role == Role.CLIENT, sender.active.is_(True),
                      sender.session_version <= bindparam("session_version_"),
                      rows.not_sanctioned(sender.id, SANCTIONS)))
    created = (dialect_insert(c)
               .from_select(["client_id", "profile_id", "created_at", "pending_count", "awaiting_reply_since",
                             "last_message_at", "last_client_message_at"], checked)
               .on_conflict_do_nothing(index_elements=["client_id", "profile_id"])
               .returning(*rows.CONVERSATION_COLUMNS)
               .cte("n"))
    messages = Message.__table__
    stored = (insert(messages)
              .from_select(["conversation_id", "sender", "author_id", "body", "client_token", "created_at"],
                           select(created.c.id, *(bindparam(f"{name}_", type_=messages.c[name].type) for name in
                                                  ("sender", "author_id", "body", "client_token", "created_at"))))
              .returning(*(messages.c[name] for name in rows.MESSAGE.names))
              .cte("m"))
    locks_table, users = LOCKS, User.__table__
    return (select(*rows.MESSAGE.labelled(stored), *rows.CONVERSATION.labelled(created),
                   *rows.PROFILE.labelled(p), *rows.HOLDER.labelled(users), *rows.LOCK.labelled(locks_table),
                   *rows.SENDER_COLUMNS.labelled(SENDER), false().label("was_active"),
                   HELD.c.moderator_id.label("a_holder"), APPROACH.c.moderator_id.label("o_approaching"))
            .select_from(stored.join(created, created.c.id == stored.c.conversation_id)
                         .join(p, p.c.id == created.c.profile_id)
                         .join(SENDER, sender.id == created.c.client_id)
                         .outerjoin(users, users.c.id == created.c.assigned_moderator_id)
                         .outerjoin(locks_table, locks_table.c.profile_id == created.c.profile_id)
                         .outerjoin(HELD, HELD.c.profile_id == created.c.profile_id)
                         .outerjoin(APPROACH, (APPROACH.c.client_id == created.c.client_id)
                                    & (APPROACH.c.expires_at >= now)))
            .add_cte(_pending_row(stored)))
