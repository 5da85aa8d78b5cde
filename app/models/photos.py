"""Photos sent in conversations: the upload as it came, and the sizes a job makes from it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db
from .chat import Conversation

PENDING, READY, FAILED = "pending", "ready", "failed"
PHOTO_STATES = (PENDING, READY, FAILED)


class Photo(db.Model):
    """A photo of a message (``Message.photo_id``, with its ``conversation_id``), or attached to a
    support ticket (``ticket_id``: its description, or the comment ``ticket_comment_id``). Its id is
    random and unguessable, but it is no key: every request for it is checked against what it
    belongs to (``services.photos.viewing``).

    ``pending`` until the job has made the thumbnail and the display size from the original,
    then ``ready``, or ``failed`` when the original could not be decoded. The original is kept
    (``original_key``) until a cleanup removes the file and clears the column: the sizes shown
    never depend on it."""
    __tablename__ = "photos"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    ticket_comment_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_comments.id", ondelete="CASCADE"))
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=PENDING)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)
    original_key: Mapped[str | None] = mapped_column(String(200))  # None once the original is removed
    original_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    # The sizes made by the job (pixels, after the camera's orientation was applied).
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    thumb_width: Mapped[int | None] = mapped_column(Integer)
    thumb_height: Mapped[int | None] = mapped_column(Integer)

    conversation: Mapped[Conversation | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"state IN {PHOTO_STATES!r}", name="state"),
        CheckConstraint("(conversation_id IS NULL) <> (ticket_id IS NULL)", name="one_owner"),
        CheckConstraint("ticket_comment_id IS NULL OR ticket_id IS NOT NULL", name="comment_of_ticket"),
        Index("ix_photos_conversation", "conversation_id"),
        Index("ix_photos_ticket", "ticket_id"),
        Index("ix_photos_created", "created_at"),  # the originals' cleanup: the oldest first
    )

    @property
    def is_ready(self) -> bool:
        return self.state == READY

    @property
    def is_pending(self) -> bool:
        return self.state == PENDING
