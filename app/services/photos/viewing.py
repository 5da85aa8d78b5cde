"""Who may see a photo, checked on every request: for a message's, the conversation's client, the
moderator who holds the conversation now, and admins; for a support ticket's, its opener (not
on an internal note) and admins. Nobody else, whoever has the address."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Conversation, Photo, Role, Ticket, TicketComment, User
from ..errors import Forbidden, NotFound
from .storage import VARIANTS, FolderStorage, variant_key

_ID_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def may_see(viewer: User, conversation: Conversation) -> bool:
    if viewer.role == Role.ADMIN:
        return True
    if viewer.role == Role.CLIENT:
        return conversation.client_id == viewer.id
    return viewer.role == Role.MODERATOR and conversation.assigned_moderator_id == viewer.id


def viewable_photo(viewer: User, photo_id: str) -> Photo:
    """The photo, if ``viewer`` may see it: 404 when there is none by that id, 403 when it is not
    theirs to see."""
    if not photo_id or len(photo_id) > 32 or not set(photo_id) <= _ID_CHARACTERS:
        raise NotFound(_l("This photo does not exist."))
    photo = db.session.get(Photo, photo_id, options=(joinedload(Photo.conversation),))
    if photo is None:
        raise NotFound(_l("This photo does not exist."))
    allowed = may_see(viewer, photo.conversation) if photo.conversation_id is not None else _may_see_ticket_photo(
        viewer, photo)
    if not viewer.active or not allowed:
        raise Forbidden(_l("You may not see this photo."))
    return photo


def _may_see_ticket_photo(viewer: User, photo: Photo) -> bool:
    if viewer.role == Role.ADMIN:
        return True
    ticket = db.session.get(Ticket, photo.ticket_id)
    note = db.session.get(TicketComment, photo.ticket_comment_id) if photo.ticket_comment_id else None
    return ticket is not None and ticket.opener_id == viewer.id and not (note is not None and note.internal)


@dataclass(frozen=True)
class PhotoFile:
    path: Path
    mimetype: str


def photo_file(viewer: User, photo_id: str, variant: str, storage: FolderStorage) -> PhotoFile:
    """A size made from the photo (never its original), if ``viewer`` may see it and it is made."""
    if variant not in VARIANTS:
        raise NotFound(_l("This photo does not exist."))
    photo = viewable_photo(viewer, photo_id)
    key = variant_key(photo.id, variant)
    if not photo.is_ready or not storage.exists(key):
        raise NotFound(_l("This photo is not ready yet."))
    return PhotoFile(storage.path(key), "image/jpeg")
