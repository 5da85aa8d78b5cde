"""Reactions to messages: an emoji from one side of the conversation on one of its messages."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db

SIDES = ("client", "profile")  # the values of ``chat.Sender``: a moderator reacts as the profile


class MessageReaction(db.Model):
    """One emoji from one side on one message. A side reacts with an emoji once (the unique
    constraint): reacting again with it takes it back (``services.reactions``)."""
    __tablename__ = "message_reactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), nullable=False)
    side: Mapped[str] = mapped_column(String(8), nullable=False)
    emoji: Mapped[str] = mapped_column(String(32), nullable=False)
    # Who clicked: the client, or the moderator (or admin) reacting as the profile.
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("message_id", "side", "emoji", name="uq_message_reactions_message_side_emoji"),
        CheckConstraint("side IN ('client', 'profile')", name="side"),
        Index("ix_message_reactions_message", "message_id", "side"),
    )
