"""Who may export a conversation, and who may have an export, checked on every request.

- Asking: the conversation's client (their own conversation) and admins (any conversation).
  Moderators do not export: they answer as a profile, and the conversation is not theirs to keep.
- Having: an export is served to its owner alone (who asked for it), never by its address only,
  and never once it expired (``expires_at`` passed, whether or not the cleanup has run yet).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ...extensions import db
from ...models import Conversation, Export, Role, User
from ...models.exports import EXPORT_FORMATS, QUEUED, READY, UNFINISHED
from ..errors import Forbidden, Gone, NotFound, ServiceError, TooMany
from ..storage import FolderStorage

_ID_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
MIMETYPES = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8", "json": "application/json"}


@dataclass(frozen=True)
class Limits:
    """``EXPORT_TTL_SECONDS`` and ``EXPORT_MAX_UNFINISHED``."""
    ttl_seconds: int
    max_unfinished: int

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(config["EXPORT_TTL_SECONDS"], config["EXPORT_MAX_UNFINISHED"])


def new_export_id() -> str:
    """128 random bits, URL-safe: an id nobody can guess (22 characters)."""
    return secrets.token_urlsafe(16)


def may_export(actor: User, conversation: Conversation) -> bool:
    if not actor.active:
        return False
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.CLIENT and conversation.client_id == actor.id


def exportable_conversation(actor: User, conversation_id: int) -> Conversation:
    """The conversation, if ``actor`` may export it: 404 when there is none, 403 when not theirs."""
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(_l("This conversation does not exist."))
    if not may_export(actor, conversation):
        raise Forbidden(_l("You may not export this conversation."))
    return conversation


def request_export(actor: User, conversation_id: int, fmt: str | None, now: datetime, limits: Limits) -> "Asked":
    """A new queued export of the conversation for ``actor``, and their panel with it (the caller
    commits, then enqueues its job). Refused: a format that is not PDF, CSV or JSON (400), a conversation not theirs,
    or too many of their exports still being made (429)."""
    if fmt not in EXPORT_FORMATS:
        raise ServiceError(_l("Choose PDF, CSV or JSON."))
    exportable_conversation(actor, conversation_id)
    unfinished = db.session.scalar(select(func.count()).select_from(Export).where(
        Export.owner_id == actor.id, Export.state.in_(UNFINISHED), Export.expires_at > now))
    if unfinished >= limits.max_unfinished:
        raise TooMany(_l("Wait until your other exports are ready before asking for another one."))
    export = Export(id=new_export_id(), owner_id=actor.id, conversation_id=conversation_id, format=fmt,
                    state=QUEUED, progress=0, created_at=now, expires_at=now + timedelta(seconds=limits.ttl_seconds))
    db.session.add(export)
    db.session.flush()
    return Asked(export.id, exports_panel(actor, conversation_id, now))


@dataclass(frozen=True)
class Panel:
    """A conversation's export panel for one person: their latest exports of it, newest first."""
    conversation_id: int
    exports: list[Export]
    now: datetime


@dataclass(frozen=True)
class Asked:
    """A new export (its job is the caller's to enqueue, after the commit) and the panel showing it."""
    export_id: str
    panel: Panel


def exports_panel(actor: User, conversation_id: int, now: datetime, shown: int = 5) -> Panel:
    exportable_conversation(actor, conversation_id)
    exports = list(db.session.scalars(select(Export).where(
        Export.owner_id == actor.id, Export.conversation_id == conversation_id)
        .order_by(Export.created_at.desc(), Export.id).limit(shown)))
    return Panel(conversation_id, exports, now)


def owned_export(actor: User, export_id: str) -> Export:
    """The export, if it is ``actor``'s: 404 when there is none by that id, 403 when it is someone else's."""
    if not export_id or len(export_id) > 32 or not set(export_id) <= _ID_CHARACTERS:
        raise NotFound(_l("This export does not exist."))
    export = db.session.get(Export, export_id)
    if export is None:
        raise NotFound(_l("This export does not exist."))
    if not actor.active or export.owner_id != actor.id:
        raise Forbidden(_l("This export is not yours."))
    return export


@dataclass(frozen=True)
class ExportFile:
    path: Path
    mimetype: str
    download_name: str


def export_file(actor: User, export_id: str, storage: FolderStorage, now: datetime) -> ExportFile:
    """The export's file, for its owner, while it has not expired (410 once it has)."""
    export = owned_export(actor, export_id)
    if export.has_expired(now):
        raise Gone(_l("This export has expired: its file was removed. Ask for a new one."))
    if export.state != READY or export.file_key is None or not storage.exists(export.file_key):
        raise NotFound(_l("This export is not ready yet."))
    name = f"switchboard-conversation-{export.conversation_id}-{export.created_at:%Y%m%d-%H%M}.{export.format}"
    return ExportFile(storage.path(export.file_key), MIMETYPES[export.format], name)

