"""Canned replies: saved texts a moderator inserts into the composer, then edits and sends.

Who manages which (checked here, for every reply named by id):
- admins: global replies and every profile's replies; never a moderator's own;
- a moderator: their own replies only (someone else's is "not found", never shown).
A moderator inserting into a conversation sees the global replies, those of the conversation's
profile and their own, and only for a conversation they hold.

Placeholders are ``{name}`` among ``PLACEHOLDERS``; a text naming any other is refused when saved.
Rendering fills them as plain text: the result is text, never markup (the page inserts it into the
composer's value, and templates escape it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import CannedReply, Conversation, Profile, Role, User
from . import chat
from .errors import NotFound, ValidationError

PLACEHOLDERS = ("client_first_name", "client_name", "profile_name")
_PLACEHOLDER = re.compile(r"\{([^{}\s]*)\}")


@dataclass(frozen=True)
class Limits:
    title_max: int
    body_max: int
    per_owner_max: int

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(config["CANNED_TITLE_MAX_LENGTH"], config["CANNED_BODY_MAX_LENGTH"], config["CANNED_MAX_PER_OWNER"])


@dataclass(frozen=True)
class Insertable:
    """A reply as the picker offers it: its title, its scope and its text filled for a conversation."""
    id: int
    title: str
    scope: str
    text: str


def _clean(title, body, limits: Limits) -> tuple[str, str]:
    title = (title or "").strip()
    body = (body or "").strip()
    if not title:
        raise ValidationError(_l("Give the reply a title."))
    if not body:
        raise ValidationError(_l("The reply's text is empty."))
    if len(title) > limits.title_max:
        raise ValidationError(_l("The title is too long (at most %(max)s characters).", max=limits.title_max))
    if len(body) > limits.body_max:
        raise ValidationError(_l("The text is too long (at most %(max)s characters).", max=limits.body_max))
    unknown = sorted({name for name in _PLACEHOLDER.findall(body) if name not in PLACEHOLDERS})
    if unknown:
        raise ValidationError(_l("Unknown placeholder: %(names)s. Use %(known)s.",
                                 names=", ".join("{%s}" % n for n in unknown),
                                 known=", ".join("{%s}" % n for n in PLACEHOLDERS)))
    return title, body


def _scope_filter(profile_id: int | None, owner_id: int | None):
    return (CannedReply.profile_id.is_(None) if profile_id is None else CannedReply.profile_id == profile_id,
            CannedReply.owner_id.is_(None) if owner_id is None else CannedReply.owner_id == owner_id)


def _count(profile_id: int | None, owner_id: int | None) -> int:
    return db.session.scalar(select(func.count(CannedReply.id)).where(*_scope_filter(profile_id, owner_id)))


def create(actor: User, *, title, body, limits: Limits, now: datetime, profile_id: int | None = None) -> CannedReply:
    """A new reply: an admin's is global (no profile) or a profile's; a moderator's is their own."""
    title, body = _clean(title, body, limits)
    owner_id = None
    if actor.role == Role.ADMIN:
        if profile_id is not None and db.session.get(Profile, profile_id) is None:
            raise NotFound(_l("This profile does not exist."))
    elif actor.role == Role.MODERATOR:
        owner_id, profile_id = actor.id, None
    else:
        raise NotFound(_l("This reply does not exist."))
    # Counted before the insert: two saves at the same instant may pass the cap by one.
    if _count(profile_id, owner_id) >= limits.per_owner_max:
        raise ValidationError(_l("There are already %(max)s replies here: delete one first.", max=limits.per_owner_max))
    reply = CannedReply(title=title, body=body, profile_id=profile_id, owner_id=owner_id, created_by_id=actor.id,
                        created_at=now, updated_at=now)
    db.session.add(reply)
    db.session.flush()
    return reply


def managed(actor: User, reply_id: int) -> CannedReply:
    """A reply the actor may change: admins the global and profile ones, a moderator their own."""
    reply = db.session.get(CannedReply, reply_id)
    if reply is None:
        raise NotFound(_l("This reply does not exist."))
    if actor.role == Role.ADMIN and reply.owner_id is None:
        return reply
    if actor.role == Role.MODERATOR and reply.owner_id == actor.id:
        return reply
    raise NotFound(_l("This reply does not exist."))


def update(actor: User, reply_id: int, *, title, body, limits: Limits, now: datetime) -> CannedReply:
    reply = managed(actor, reply_id)
    reply.title, reply.body = _clean(title, body, limits)
    reply.updated_at = now
    return reply


def delete(actor: User, reply_id: int, now: datetime) -> None:
    db.session.delete(managed(actor, reply_id))


def list_managed(actor: User) -> list[CannedReply]:
    """What the actor manages: for admins the global replies then each profile's, for a moderator their own."""
    query = select(CannedReply)
    if actor.role == Role.ADMIN:
        query = query.where(CannedReply.owner_id.is_(None)).order_by(
            CannedReply.profile_id.is_not(None), CannedReply.profile_id, func.lower(CannedReply.title), CannedReply.id)
    elif actor.role == Role.MODERATOR:
        query = query.where(CannedReply.owner_id == actor.id).order_by(func.lower(CannedReply.title), CannedReply.id)
    else:
        return []
    return list(db.session.scalars(query))


def render(body: str, conversation: Conversation) -> str:
    """The text with its placeholders filled for the conversation's client and profile (plain text)."""
    name = conversation.client.display_name.strip()
    values = {"client_first_name": name.split()[0] if name else "", "client_name": name,
              "profile_name": conversation.profile.name}
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def list_for_conversation(moderator: User, conversation_id: int, query: str | None, now: datetime) -> list[Insertable]:
    """The replies a moderator may insert into a conversation they hold (global, its profile's, their
    own), filled for that conversation, whose title or filled text contains ``query`` (case-insensitive)."""
    conversation = chat.moderator_conversation(moderator, conversation_id)
    replies = db.session.scalars(
        select(CannedReply).where(or_(
            (CannedReply.profile_id.is_(None) & CannedReply.owner_id.is_(None)),
            CannedReply.profile_id == conversation.profile_id,
            CannedReply.owner_id == moderator.id,
        )).order_by(func.lower(CannedReply.title), CannedReply.id))
    needle = (query or "").strip().casefold()[:200]
    found = []
    for reply in replies:
        text = render(reply.body, conversation)
        if needle and needle not in reply.title.casefold() and needle not in text.casefold():
            continue
        found.append(Insertable(reply.id, reply.title, reply.scope, text))
    return found
