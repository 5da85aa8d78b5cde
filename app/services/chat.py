"""Conversations and messages: posting, replying, reading history."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload

from ..database import dialect_insert
from ..extensions import db
from ..models import Conversation, Message, Profile, User
from ..models.chat import Sender
from . import assignment, inactivity
from .errors import Forbidden, NotFound, ValidationError

MAX_BODY = 4000
MAX_TOKEN = 64


@dataclass
class Posted:
    message: Message
    created: bool  # False when the same client token was already stored (a re-send)


def clean_body(body: str | None, max_length: int = MAX_BODY) -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise ValidationError(_l("A message cannot be empty."))
    if len(body) > max_length:
        raise ValidationError(_l("A message is at most %(n)d characters long.", n=max_length))
    return body


def clean_token(token: str | None) -> str:
    token = (token or "").strip()
    if not token or len(token) > MAX_TOKEN or not token.replace("-", "").isalnum():
        raise ValidationError(_l("The message has no valid identifier; reload the page."))
    return token


def _existing(conversation_id: int, token: str) -> Message | None:
    return db.session.scalar(
        select(Message).where(Message.conversation_id == conversation_id, Message.client_token == token)
    )


def get_or_create_conversation(client: User, profile: Profile, now: datetime) -> Conversation:
    """The unique conversation of this client with this profile (unique index settles races)."""
    conversation = find_conversation(client.id, profile.id)
    if conversation is not None:
        return conversation
    try:
        with db.session.begin_nested():
            conversation = Conversation(client_id=client.id, profile_id=profile.id, created_at=now)
            db.session.add(conversation)
    except IntegrityError:
        conversation = find_conversation(client.id, profile.id)
    return conversation


def find_conversation(client_id: int, profile_id: int) -> Conversation | None:
    return db.session.scalar(
        select(Conversation).where(Conversation.client_id == client_id, Conversation.profile_id == profile_id)
    )


def _insert_message(conversation: Conversation, **fields) -> Posted:
    """One statement: ``INSERT … ON CONFLICT (conversation_id, client_token) DO NOTHING RETURNING``.
    No row back means the same token was stored before (a re-send): return that message."""
    statement = (
        dialect_insert(Message).values(conversation_id=conversation.id, **fields)
        .on_conflict_do_nothing(index_elements=["conversation_id", "client_token"])
        .returning(Message)
    )
    message = db.session.scalars(statement).first()
    if message is not None:
        return Posted(message, created=True)
    return Posted(_existing(conversation.id, fields["client_token"]), created=False)


def post_client_message(client: User, profile_id: int, body: str, token: str, now: datetime,
                        max_length: int = MAX_BODY) -> Posted:
    """Store a client's message once (by its client token), mark the conversation waiting and
    make sure a moderator holds it."""
    if not client.is_client:
        raise Forbidden(_l("Only clients write to profiles."))
    body, token = clean_body(body, max_length), clean_token(token)
    # The usual case, an existing conversation, costs one query: with its profile and moderator.
    conversation = db.session.scalar(
        select(Conversation).join(Conversation.profile)
        .options(contains_eager(Conversation.profile), joinedload(Conversation.moderator))
        .where(Conversation.client_id == client.id, Conversation.profile_id == profile_id,
               Profile.active.is_(True))
    )
    if conversation is None:
        profile = db.session.get(Profile, profile_id)
        if profile is None or not profile.active:
            raise NotFound(_l("This profile does not exist."))
        conversation = get_or_create_conversation(client, profile, now)
    posted = _insert_message(conversation, sender=Sender.CLIENT, author_id=client.id, body=body,
                             client_token=token, created_at=now)
    if not posted.created:
        return posted
    if conversation.assigned_moderator_id is None:
        assignment.assign_if_unassigned(conversation.id, now)
    # Counters move in SQL (never from a value read earlier); RETURNING reloads the row in the
    # same statement for the pushes that follow.
    db.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(
            pending_count=Conversation.pending_count + 1,
            awaiting_reply_since=case(
                (Conversation.awaiting_reply_since.is_(None), now), else_=Conversation.awaiting_reply_since
            ),
            last_message_at=now,
            last_client_message_at=now,
        )
        .returning(Conversation)
        .execution_options(populate_existing=True)
    ).scalars().first()
    return posted


def moderator_conversation(moderator: User, conversation_id: int) -> Conversation:
    """A conversation the moderator may see: only those assigned to them."""
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(_l("This conversation does not exist."))
    if conversation.assigned_moderator_id != moderator.id:
        raise Forbidden(_l("This conversation is not assigned to you."))
    return conversation


def post_profile_reply(moderator: User, conversation_id: int, body: str, token: str, now: datetime,
                       max_length: int = MAX_BODY) -> Posted:
    """A moderator answers as the profile; the conversation stops waiting."""
    body, token = clean_body(body, max_length), clean_token(token)
    conversation = moderator_conversation(moderator, conversation_id)
    posted = _insert_message(conversation, sender=Sender.PROFILE, author_id=moderator.id, body=body,
                             client_token=token, created_at=now)
    if posted.created:
        # Guarded by the assignment: a reply only lands while this moderator still holds it.
        updated = db.session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id, Conversation.assigned_moderator_id == moderator.id)
            .values(awaiting_reply_since=None, pending_count=0, last_message_at=now,
                    last_profile_message_at=now)
            .returning(Conversation)
            .execution_options(populate_existing=True)
        ).scalars().first()
        if updated is None:
            raise Forbidden(_l("This conversation is not assigned to you."))
        inactivity.record_activity(moderator, now)
    return posted


def history(conversation_id: int, *, before_id: int | None = None, after_id: int | None = None,
            limit: int = 50) -> list[Message]:
    """Messages in display order: the latest ``limit``, older than ``before_id``, or all newer
    than ``after_id`` (catch-up after a reconnect)."""
    query = select(Message).where(Message.conversation_id == conversation_id)
    if after_id is not None:
        return list(db.session.scalars(query.where(Message.id > after_id).order_by(Message.id).limit(500)))
    if before_id is not None:
        query = query.where(Message.id < before_id)
    rows = list(db.session.scalars(query.order_by(Message.id.desc()).limit(limit)))
    rows.reverse()
    return rows


def client_conversations(client_id: int) -> list[Conversation]:
    return list(
        db.session.scalars(
            select(Conversation)
            .where(Conversation.client_id == client_id, Conversation.last_message_at.is_not(None))
            .order_by(Conversation.last_message_at.desc())
        )
    )


def moderator_conversations(moderator_id: int, limit: int = 200) -> list[Conversation]:
    """Waiting conversations first (newest waiting on top), then the rest by last message."""
    waiting_first = case((Conversation.awaiting_reply_since.is_(None), 1), else_=0)
    return list(
        db.session.scalars(
            select(Conversation)
            .options(joinedload(Conversation.client), joinedload(Conversation.profile))
            .execution_options(populate_existing=True)  # rows may have moved since they were loaded
            .where(Conversation.assigned_moderator_id == moderator_id)
            .order_by(waiting_first, Conversation.last_message_at.desc(), Conversation.id.desc())
            .limit(limit)
        )
    )


def waiting_count() -> int:
    """Client messages waiting for an answer, over all conversations."""
    return db.session.scalar(
        select(func.coalesce(func.sum(Conversation.pending_count), 0)).where(
            Conversation.awaiting_reply_since.is_not(None)
        )
    )
