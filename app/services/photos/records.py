"""A photo's row: created with its message, in the send path's transaction; finished by the job."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from ...extensions import db
from ...models import Message, Photo
from ...models.photos import FAILED, PENDING, READY
from .. import events


def new_photo_id() -> str:
    """128 random bits, URL-safe: an id nobody can guess (22 characters)."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class NewPhoto:
    """An upload checked from its header and stored as it came, waiting for its message."""
    id: str
    original_key: str
    original_bytes: int


def attach(message, conversation_id: int, uploader_id: int, photo: NewPhoto, now: datetime) -> Photo:
    """The photo's row, and the new ``message`` (ORM row or snapshot) made a photo message."""
    row = Photo(id=photo.id, conversation_id=conversation_id, uploader_id=uploader_id, state=PENDING,
                created_at=now, original_key=photo.original_key, original_bytes=photo.original_bytes)
    db.session.add(row)
    db.session.flush()
    db.session.execute(update(Message.__table__).where(Message.__table__.c.id == message.id)
                       .values(photo_id=photo.id))
    if isinstance(message, Message):
        set_committed_value(message, "photo_id", photo.id)
        set_committed_value(message, "photo", row)
    else:
        message.photo_id, message.photo = photo.id, row
    return row


def attach_to_ticket(ticket_id: int, comment_id: int | None, uploader_id: int, photo: NewPhoto,
                     now: datetime) -> Photo:
    """The photo's row, attached to a support ticket: its description (``comment_id`` None) or one
    of its comments; who may see it follows the ticket and the comment (``viewing``)."""
    row = Photo(id=photo.id, ticket_id=ticket_id, ticket_comment_id=comment_id, uploader_id=uploader_id,
                state=PENDING, created_at=now, original_key=photo.original_key, original_bytes=photo.original_bytes)
    db.session.add(row)
    db.session.flush()
    return row


@dataclass(frozen=True)
class Made:
    """The sizes the job wrote (pixels)."""
    width: int
    height: int
    thumb_width: int
    thumb_height: int


def finish(photo_id: str, made: Made | None, now: datetime) -> bool:
    """A pending photo becomes ready (``made``) or failed (None), once: a second run of the job
    changes nothing. Recorded as processed, so both sides see it. True if it changed."""
    values = {"state": FAILED, "processed_at": now}
    if made is not None:
        values.update(state=READY, width=made.width, height=made.height, thumb_width=made.thumb_width,
                      thumb_height=made.thumb_height)
    changed = db.session.execute(update(Photo.__table__).where(Photo.__table__.c.id == photo_id,
                                                               Photo.__table__.c.state == PENDING)
                                 .values(**values)).rowcount
    if changed:
        events.record(events.PhotoProcessed(photo_id))
    return bool(changed)
