"""Exports of a conversation (PDF, CSV, JSON), asked for by a person and made by a job."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db
from .chat import Conversation

PDF, CSV, JSON = "pdf", "csv", "json"
EXPORT_FORMATS = (PDF, CSV, JSON)
QUEUED, RUNNING, READY, FAILED, EXPIRED = "queued", "running", "ready", "failed", "expired"
EXPORT_STATES = (QUEUED, RUNNING, READY, FAILED, EXPIRED)
UNFINISHED = (QUEUED, RUNNING)


class Export(db.Model):
    """One export of a conversation for its owner (who asked for it: the conversation's client, or
    an admin), the only person it is ever served to (``services.exports.access``). Its id is random
    and unguessable, but it is no key: every request for it checks the owner.

    ``queued`` → ``running`` (``progress`` in percent) → ``ready`` (``file_key`` names the file) or
    ``failed``; any of them becomes ``expired`` once ``expires_at`` passed, when the cleanup removes
    the file and clears ``file_key``. The row stays: a late download is told the export expired."""
    __tablename__ = "exports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), nullable=False)
    format: Mapped[str] = mapped_column(String(8), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=QUEUED)
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    file_key: Mapped[str | None] = mapped_column(String(200))
    file_bytes: Mapped[int | None] = mapped_column(Integer)
    message_count: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # From the request until it is ready, then from then on: an export nobody made in time expires too.
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    conversation: Mapped[Conversation] = relationship()

    __table_args__ = (
        CheckConstraint(f"state IN {EXPORT_STATES!r}", name="state"),
        CheckConstraint(f"format IN {EXPORT_FORMATS!r}", name="format"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        Index("ix_exports_owner_conversation", "owner_id", "conversation_id", "created_at"),
        Index("ix_exports_expires", "expires_at"),  # the cleanup: the expired ones first
    )

    @property
    def is_unfinished(self) -> bool:
        return self.state in UNFINISHED

    def has_expired(self, now: datetime) -> bool:
        return self.state == EXPIRED or self.expires_at <= now
