"""A photo message, from a client or a moderator: the upload is checked from its header (never
decoded here), stored as it came, then the message goes the text message's own way
(``sending.send_client_message``, ``chat.post_profile_reply``: assignment, pending row,
counters), its caption the body. The job that makes its sizes is the caller's to enqueue, after
that commit.

Nothing is left half-way: a refused message (a conversation the sender may not use, a bad
caption, an ended session) removes the stored file, and so does a re-send of a message stored
before (same client token)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, TypeVar

from ...database import write_transaction
from ...models import User
from .. import chat, sending
from ..images import check_image
from ..messages import MAX_BODY, Posted
from ..sending.rows import UNCHECKED_SESSION
from .records import NewPhoto, new_photo_id
from .storage import FolderStorage, original_key

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """What an upload may be (``PHOTO_MAX_BYTES``, ``IMAGE_MAX_PIXELS``, ``IMAGE_MAX_SIDE``)."""
    max_bytes: int
    max_pixels: int
    max_side: int

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(config["PHOTO_MAX_BYTES"], config["IMAGE_MAX_PIXELS"], config["IMAGE_MAX_SIDE"])


@dataclass(frozen=True)
class PhotoSent:
    posted: Posted
    to_process: str | None  # the new photo's id, for the job; None for a re-send


def _store(data: bytes, storage: FolderStorage, limits: Limits) -> NewPhoto:
    check_image(data, limits.max_bytes, limits.max_pixels, limits.max_side)
    photo_id = new_photo_id()
    photo = NewPhoto(photo_id, original_key(photo_id), len(data))
    storage.write(photo.original_key, data)
    return photo


def with_upload(data: bytes | None, storage: FolderStorage, limits: Limits, write: Callable[[NewPhoto | None], T]
                ) -> tuple[T, str | None]:
    """``write(photo)`` in a write transaction, with the upload ``data`` (if any) checked and
    stored first: what ``write`` returns, and the new photo's id for its job (after this commit).
    A refused upload stores nothing; a ``write`` that fails removes the stored file."""
    photo = _store(data, storage, limits) if data else None
    try:
        with write_transaction():
            result = write(photo)
    except BaseException:
        if photo is not None:
            storage.delete(photo.original_key)
        raise
    return result, (photo.id if photo is not None else None)


def _sent(posted: Posted, photo: NewPhoto, storage: FolderStorage) -> PhotoSent:
    if posted.created and posted.message.photo_id == photo.id:
        return PhotoSent(posted, photo.id)
    storage.delete(photo.original_key)  # a re-send: the message stored before keeps its own photo
    return PhotoSent(posted, None)


def send_client_photo(client_id: int, profile_id: int, data: bytes, caption: str | None, token: str | None,
                      now: datetime, storage: FolderStorage, limits: Limits, max_length: int = MAX_BODY,
                      session_version: int = UNCHECKED_SESSION, reply_to_id: int | None = None) -> PhotoSent:
    """A client's photo message (``sending.send_client_message``'s rules, and its commit)."""
    photo = _store(data, storage, limits)
    try:
        posted = sending.send_client_message(client_id, profile_id, caption, token, now, max_length,
                                             session_version, photo=photo, reply_to_id=reply_to_id)
    except BaseException:
        storage.delete(photo.original_key)
        raise
    return _sent(posted, photo, storage)


def send_profile_photo(moderator: User, conversation_id: int, data: bytes, caption: str | None, token: str | None,
                       now: datetime, storage: FolderStorage, limits: Limits, max_length: int = MAX_BODY,
                       reply_to_id: int | None = None) -> PhotoSent:
    """A moderator's photo message as the profile (``chat.post_profile_reply``'s rules), committed."""
    photo = _store(data, storage, limits)
    try:
        with write_transaction():
            posted = chat.post_profile_reply(moderator, conversation_id, caption, token, now, max_length, photo=photo,
                                             reply_to_id=reply_to_id)
    except BaseException:
        storage.delete(photo.original_key)
        raise
    return _sent(posted, photo, storage)
