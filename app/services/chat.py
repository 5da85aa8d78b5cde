"""Conversations and messages as people read them, and the moderator's reply.

A client's message goes through ``services.sending``; message primitives live in ``messages``.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, Integer, bindparam, case, column, func, literal_column, select, update
from sqlalchemy.orm import joinedload, lazyload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..database import cached_statement
from ..extensions import db
from ..models import Conversation, Message, User
from ..models.chat import Sender
from . import activity, assignment, events, filters, inactivity, locks, pending
from .errors import Forbidden, NotFound
from .messages import (MAX_BODY, Posted, check_reply_to, clean_body, clean_token, insert_message,
                       reload_keeping_links)
from .photos import records
from .photos.records import NewPhoto


def find_conversation(client_id: int, profile_id: int) -> Conversation | None:
    return db.session.scalar(
        select(Conversation).where(Conversation.client_id == client_id, Conversation.profile_id == profile_id)
    )


def moderator_conversation(moderator: User, conversation_id: int, options=None) -> Conversation:
    """A conversation the moderator may see: only those assigned to them (with its client, profile
    and the profile's lock, which the panel shows)."""
    options = _REPLY_LOAD if options is None else options
    conversation = db.session.get(Conversation, conversation_id, options=options)
    if conversation is None:
        raise NotFound(_l("This conversation does not exist."))
    if conversation.assigned_moderator_id != moderator.id:
        raise Forbidden(_l("This conversation is not assigned to you."))
    return conversation


# With the client, the profile and its lock: the pushes that follow render them (the lock: the
# "answering" flag) without a query of their own.
_REPLY_LOAD = (joinedload(Conversation.client), joinedload(Conversation.profile), joinedload(Conversation.profile_lock))


def post_profile_reply(moderator: User, conversation_id: int, body: str, token: str, now: datetime,
                       max_length: int = MAX_BODY, photo: NewPhoto | None = None,
                       reply_to_id: int | None = None, language: str | None = None) -> Posted:
    """A moderator answers as the profile; the conversation stops waiting. With a ``photo``
    (stored, see ``photos.uploads``), the body is its caption and may be empty. With
    ``reply_to_id``, it quotes that message of the conversation. The content filters for
    ``language`` apply: a blocked reply is refused with only its log line committed (nothing else
    is written before it), a masked or flagged one is stored with its log lines."""
    body, token = clean_body(body, max_length, required=photo is None), clean_token(token)
    conversation = moderator_conversation(moderator, conversation_id)
    screened = filters.screen(body, language)
    if screened.blocked_by is not None:
        filters.refuse(screened, author_id=moderator.id, profile_id=conversation.profile_id,
                       conversation_id=conversation.id, now=now)
        db.session.commit()  # the log line stays although the reply is refused
        raise filters.blocked()
    body = screened.body if screened.hit else body
    posted = insert_message(conversation, sender=Sender.PROFILE, author_id=moderator.id, body=body,
                            client_token=token, created_at=now, **check_reply_to(conversation.id, reply_to_id))
    if posted.created:
        if photo is not None:
            records.attach(posted.message, conversation.id, moderator.id, photo, now)
        before = db.session.execute(select(Conversation.awaiting_reply_since, Conversation.last_message_at)
                                    .where(Conversation.id == conversation.id)).first()
        if not activity.is_active(before.awaiting_reply_since, before.last_message_at, now):
            activity.adjust_load(moderator.id, 1)  # writing again to a quiet client: active
        if "moderator" not in conversation.__dict__:
            set_committed_value(conversation, "moderator", moderator)  # the holder, checked above
        # Guarded by the assignment: a reply only lands while this moderator still holds it.
        updated = reload_keeping_links(conversation, posted.message, cached_statement(("chat.reply_counters",),
                                                                                      _reply_counters),
                                       {"conversation_id_": conversation.id, "moderator_id_": moderator.id, "now_": now})
        if updated is None:
            raise Forbidden(_l("This conversation is not assigned to you."))
        inactivity.record_activity(moderator, now)
        pending.process_conversation(conversation.id, now)
        posted.lock_released = locks.stop_answering(conversation.profile_id, moderator.id)
        if posted.lock_released:  # it was the profile's one lock row, loaded above
            set_committed_value(conversation, "profile_lock", None)
        posted.assigned = assignment.approach_done(conversation.client_id, moderator.id, now)
        if screened.hit:
            filters.record_hits(screened, posted.message, author_id=moderator.id,
                                profile_id=conversation.profile_id, now=now)
        events.record(events.MessagePosted(posted.message, client_unread_total=updated.client_unread_total))
    return posted


def _reply_counters():
    """The conversation after a reply: answered, one more message the client has not read; and,
    returned beside it, the client's unread messages over all their conversations (the badge their
    pages show), so the push that follows reads nothing more. The other conversations are summed as
    the statement found them: a reply landing at the same instant in another of them shows in the
    next push."""
    c = Conversation.__table__.c
    others = Conversation.__table__.alias("others")
    now = bindparam("now_", type_=DateTime())
    # Named in full: SQLite's RETURNING would otherwise read them from the subquery's own table.
    updated_client, updated_id = literal_column("conversations.client_id"), literal_column("conversations.id")
    total = (c.client_unread_count + select(func.coalesce(func.sum(others.c.client_unread_count), 0))
             .where(others.c.client_id == updated_client, others.c.id != updated_id).scalar_subquery())
    return (select(Conversation, column("client_unread_total", Integer))
            .from_statement(update(Conversation.__table__)
                            .where(c.id == bindparam("conversation_id_"),
                                   c.assigned_moderator_id == bindparam("moderator_id_"))
                            .values(awaiting_reply_since=None, pending_count=0, last_message_at=now,
                                    last_profile_message_at=now, client_unread_count=c.client_unread_count + 1)
                            .returning(*Conversation.__table__.c, total.label("client_unread_total")))
            .execution_options(populate_existing=True))


def history(conversation_id: int, *, before_id: int | None = None, after_id: int | None = None,
            limit: int = 50) -> list[Message]:
    """Messages in display order: the latest ``limit``, older than ``before_id``, or all newer
    than ``after_id`` (catch-up after a reconnect). The messages they answer come in one query
    (their quotes), one level deep."""
    query = (select(Message).where(Message.conversation_id == conversation_id)
             .options(selectinload(Message.reply_to).options(lazyload(Message.reply_to))))
    if after_id is not None:
        return list(db.session.scalars(query.where(Message.id > after_id).order_by(Message.id).limit(500)))
    if before_id is not None:
        query = query.where(Message.id < before_id)
    rows = list(db.session.scalars(query.order_by(Message.id.desc()).limit(limit)))
    rows.reverse()
    return rows


def client_conversations(client_id: int) -> list[Conversation]:
    """The client's conversations, newest first, with the profile, the latest message (the preview)
    and the unread counter: one query."""
    return list(
        db.session.scalars(
            select(Conversation)
            .options(joinedload(Conversation.profile), joinedload(Conversation.last_message))
            .where(Conversation.client_id == client_id, Conversation.last_message_at.is_not(None))
            .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        )
    )


def moderator_conversations(moderator_id: int, limit: int = 200, profile_id: int | None = None,
                            waiting_only: bool = False, longest_wait_first: bool = False) -> list[Conversation]:
    """Waiting conversations first (newest waiting on top), then the rest by last message; only
    those written as ``profile_id`` when given. ``waiting_only``: only those awaiting a reply;
    ``longest_wait_first``: the waiting ones by how long they have waited (oldest first)."""
    waiting_first = case((Conversation.awaiting_reply_since.is_(None), 1), else_=0)
    if longest_wait_first:
        ordering = (waiting_first, Conversation.awaiting_reply_since, Conversation.last_message_at.desc(),
                    Conversation.id)
    else:
        ordering = (waiting_first, Conversation.last_message_at.desc(), Conversation.id.desc())
    statement = (
        select(Conversation)
        .options(joinedload(Conversation.client), joinedload(Conversation.profile),
                 joinedload(Conversation.profile_lock),  # the "answering" flags
                 joinedload(Conversation.last_message))  # the previews
        .execution_options(populate_existing=True)  # rows may have moved since they were loaded
        .where(Conversation.assigned_moderator_id == moderator_id)
        .order_by(*ordering)
        .limit(limit)
    )
    if waiting_only:
        statement = statement.where(Conversation.awaiting_reply_since.is_not(None))
    if profile_id is not None:
        statement = statement.where(Conversation.profile_id == profile_id)
    return list(db.session.scalars(statement))


def waiting_count() -> int:
    """Client messages waiting for an answer, over all conversations."""
    return db.session.scalar(
        select(func.coalesce(func.sum(Conversation.pending_count), 0)).where(
            Conversation.awaiting_reply_since.is_not(None)
        )
    )
