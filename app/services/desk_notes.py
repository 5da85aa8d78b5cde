"""The moderator's desk beside the chat: the profile's fact sheet and the notes on the client, each
kept as a list of versions (who, when, the whole text).

Invariants:
- Only the moderator holding a conversation (so its profile: ``models.chat``'s composite key) or
  an admin reads or writes the desk of that conversation; anyone else gets a 404/403.
- A save names the version it started from; when a newer one exists it is refused (409) with the
  current text, and nothing is written. Two saves racing from the same version: the unique
  (sheet, version) constraint refuses the second, which gets the same 409.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import ClientNoteVersion, Conversation, Profile, ProfileFactVersion, Role, User
from . import chat, profiles
from .errors import Forbidden, NotFound, ServiceError, ValidationError

FACTS = "facts"
NOTE = "note"


@dataclass
class Sheet:
    """A fact sheet or a client's notes: the versions shown, newest first."""
    versions: list = field(default_factory=list)

    @property
    def current(self):
        return self.versions[0] if self.versions else None

    @property
    def version(self) -> int:
        return self.current.version if self.current else 0

    @property
    def text(self) -> str:
        return self.current.body if self.current else ""


@dataclass
class Desk:
    conversation: Conversation
    facts: Sheet
    note: Sheet


class StaleVersion(ServiceError):
    """Someone saved a newer version since the form was opened: nothing was written."""
    status_code = 409

    def __init__(self, which: str, current: Sheet):
        super().__init__(_l("Someone else changed this since you opened it. Nothing was overwritten: "
                            "here is the current text; add your changes to it and save again."))
        self.which = which
        self.current = current


def _conversation(actor: User, conversation_id: int) -> Conversation:
    """The conversation whose desk ``actor`` may use: one they hold, or any for an admin."""
    if actor.role is Role.ADMIN:
        conversation = db.session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound(_l("No such conversation."))
        return conversation
    return chat.moderator_conversation(actor, conversation_id)


def desk_for_moderator(moderator: User, conversation_id: int, *, history: int) -> Desk:
    """The desk of a conversation the moderator holds (any, for an admin): the profile's facts and
    the client's notes."""
    conversation = _conversation(moderator, conversation_id)
    return Desk(conversation, _facts(conversation.profile_id, history), _note(conversation, history))


def facts_for_admin(admin: User, profile_id: int, *, history: int | None = None) -> tuple[Profile, Sheet]:
    """A profile's fact sheet with every version (or the latest ``history``), for an admin."""
    _admin_only(admin)
    profile = profiles.get_profile(profile_id, active_only=False)
    return profile, _facts(profile.id, history)


def save_facts_as_holder(moderator: User, conversation_id: int, text, base_version, now: datetime, *,
                         max_length: int, history: int) -> Desk:
    """The holder of a conversation's profile (or an admin) rewrites the profile's fact sheet from the desk."""
    conversation = _conversation(moderator, conversation_id)
    _save(ProfileFactVersion, {"profile_id": conversation.profile_id}, FACTS, moderator, text, base_version, now,
          max_length, lambda: _facts(conversation.profile_id, history))
    return Desk(conversation, _facts(conversation.profile_id, history), _note(conversation, history))


def save_facts_as_admin(admin: User, profile_id: int, text, base_version, now: datetime, *,
                        max_length: int) -> tuple[Profile, Sheet]:
    """An admin rewrites a profile's fact sheet."""
    _admin_only(admin)
    profile = profiles.get_profile(profile_id, active_only=False)
    _save(ProfileFactVersion, {"profile_id": profile.id}, FACTS, admin, text, base_version, now, max_length,
          lambda: _facts(profile.id, None))
    return profile, _facts(profile.id, None)


def save_client_note(moderator: User, conversation_id: int, text, base_version, now: datetime, *,
                     max_length: int, history: int) -> Desk:
    """The holder of a conversation (or an admin) rewrites the notes on its client, kept for the
    profile's later holders."""
    conversation = _conversation(moderator, conversation_id)
    _save(ClientNoteVersion, {"profile_id": conversation.profile_id, "client_id": conversation.client_id}, NOTE,
          moderator, text, base_version, now, max_length, lambda: _note(conversation, history))
    return Desk(conversation, _facts(conversation.profile_id, history), _note(conversation, history))


def _save(model, sheet_key: dict, which: str, author: User, text, base_version, now: datetime, max_length: int,
          reload) -> None:
    body = _text(text, max_length)
    base = _version(base_version)
    latest = db.session.scalar(select(model.version).filter_by(**sheet_key).order_by(model.version.desc()).limit(1)) or 0
    if base != latest:
        raise StaleVersion(which, reload())
    try:
        with db.session.begin_nested():
            db.session.add(model(**sheet_key, version=latest + 1, body=body, author_id=author.id, created_at=now))
    except IntegrityError:  # another save from the same version won the race
        raise StaleVersion(which, reload()) from None


def _text(text, max_length: int) -> str:
    if not isinstance(text, str):
        raise ValidationError(_l("Write the text to save."))
    body = text.replace("\r\n", "\n").strip()
    if len(body) > max_length:
        raise ValidationError(_l("This text is too long (at most %(max)d characters).", max=max_length))
    return body


def _version(raw) -> int:
    try:
        version = int(raw)
    except (TypeError, ValueError):
        raise ValidationError(_l("This form is incomplete. Reload the page and try again.")) from None
    if version < 0:
        raise ValidationError(_l("This form is incomplete. Reload the page and try again."))
    return version


def _admin_only(user: User) -> None:
    if user.role is not Role.ADMIN:
        raise Forbidden(_l("You are not allowed to do this."))


def _facts(profile_id: int, history: int | None) -> Sheet:
    query = (select(ProfileFactVersion).where(ProfileFactVersion.profile_id == profile_id)
             .options(selectinload(ProfileFactVersion.author)).order_by(ProfileFactVersion.version.desc()))
    return Sheet(list(db.session.scalars(query if history is None else query.limit(history))))


def _note(conversation: Conversation, history: int) -> Sheet:
    query = (select(ClientNoteVersion)
             .where(ClientNoteVersion.profile_id == conversation.profile_id,
                    ClientNoteVersion.client_id == conversation.client_id)
             .options(selectinload(ClientNoteVersion.author)).order_by(ClientNoteVersion.version.desc())
             .limit(history))
    return Sheet(list(db.session.scalars(query)))
