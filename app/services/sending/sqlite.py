"""SQLite: a client's message in a conversation they have, in three statements (the caller holds
the write lock: ``BEGIN IMMEDIATE``): the checked conversation with what the pushes render, the
message (unless its token was stored before) and its pending row, the counters."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select

from ...database import cached_statement, dialect_insert
from ...extensions import db
from ...models import Conversation, Message, Profile, ProfileLock, Role, User
from ...models.chat import Sender
from .. import activity, pending
from . import rows


def store(client_id: int, profile_id: int, body: str, token: str, now: datetime, session_version: int):
    """``(conversation, Posted, was_active, None)`` as snapshots (nothing read for the decision), or
    None when nothing was stored: not an active client, a banned or muted one, no such
    conversation, a hidden profile, or the token was stored before."""
    connection = db.session.connection()
    found = connection.execute(cached_statement(("sending.sqlite.conversation",), _conversation_statement),
                               {"client_": client_id, "profile_": profile_id,
                                "session_version_": session_version, "now_": now}).first()
    if found is None:
        return None
    found = found._mapping
    conversation = rows.conversation_snapshot(found)
    was_active = activity.is_active(conversation.awaiting_reply_since, conversation.last_message_at, now)
    stored = connection.execute(cached_statement(("sending.sqlite.message",), lambda: (
        dialect_insert(Message.__table__)
        .values({name: bindparam(f"{name}_", type_=Message.__table__.c[name].type) for name in
                 ("conversation_id", "sender", "author_id", "body", "client_token", "created_at")})
        .on_conflict_do_nothing(index_elements=["conversation_id", "client_token"])
        .returning(*rows.MESSAGE.labelled(Message.__table__))
    )), {"conversation_id_": conversation.id, "sender_": Sender.CLIENT, "author_id_": client_id, "body_": body,
         "client_token_": token, "created_at_": now}).first()
    if stored is None:
        return None
    message = rows.message_snapshot(stored._mapping)
    pending.record(message.id, conversation.client_id, conversation.profile_id, conversation.id, now)
    counted = connection.execute(cached_statement(("sending.sqlite.counters",), lambda: (
        rows.counters().returning(*rows.CONVERSATION.labelled(Conversation.__table__)))),
        {"conversation_id_": conversation.id, "now_": now}).first()
    conversation.__dict__.update(rows.CONVERSATION.values(counted._mapping))
    return conversation, rows.linked(message, conversation, found), was_active, None


def _conversation_statement():
    """The sender (an active client)'s conversation with an active profile, with the profile, the
    holder, the profile's lock and the sender, as labelled columns."""
    c, p, sender, users, locks_table = (Conversation.__table__.c, Profile.__table__.c, rows.SENDER.c, User.__table__,
                                        ProfileLock.__table__)
    return (select(*rows.CONVERSATION.labelled(Conversation.__table__), *rows.PROFILE.labelled(Profile.__table__),
                   *rows.HOLDER.labelled(users), *rows.LOCK.labelled(locks_table),
                   *rows.SENDER_COLUMNS.labelled(rows.SENDER))
            .select_from(Conversation.__table__.join(Profile.__table__, p.id == c.profile_id)
                         .join(rows.SENDER, sender.id == c.client_id)
                         .outerjoin(users, users.c.id == c.assigned_moderator_id)
                         .outerjoin(locks_table, locks_table.c.profile_id == c.profile_id))
            .where(c.client_id == bindparam("client_"), c.profile_id == bindparam("profile_"), p.active.is_(True),
                   sender.role == Role.CLIENT, sender.active.is_(True),
                   sender.session_version <= bindparam("session_version_"), rows.not_sanctioned(sender.id)))
