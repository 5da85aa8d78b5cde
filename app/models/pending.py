"""Client messages waiting for an answer, one row each, for the notification rounds."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class PendingClientMessage(db.Model):
    """Written when a client message arrives; processed when the conversation is answered.

    ``is_notified`` says a notification round has told moderators about it.
    """

    __tablename__ = "pending_client_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    pending_since: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    is_notified: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_processed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)

    message = relationship("Message")
    client = relationship("User")
    profile = relationship("Profile")

    __table_args__ = (
        Index("ix_pending_client_messages_state", "is_processed", "is_notified", "pending_since"),
        # The reply's UPDATE finds the conversation's unprocessed rows through this one.
        Index("ix_pending_client_messages_conversation", "conversation_id", "is_processed"),
    )
