"""History of who held each conversation, and why it changed hands."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, Enum, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._time import utcnow


class ChangeReason(str, enum.Enum):
    NEW = "new"                # first assignment of waiting work
    QUEUE = "queue"            # given to the first moderator waiting in the queue
    BALANCE = "balance"        # moved by load balancing
    INACTIVITY = "inactivity"  # taken from a moderator idle for too long
    DISCONNECT = "disconnect"  # the holder went offline or was disabled
    MANUAL = "manual"          # an admin reassigned it by hand
    CONFLICT = "conflict"      # a conflict was resolved


class AssignmentChange(db.Model):
    __tablename__ = "assignment_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    from_moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    to_moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[ChangeReason] = mapped_column(
        Enum(ChangeReason, name="assignment_reason", values_callable=lambda e: [m.value for m in e]), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    conversation = relationship("Conversation")
    from_moderator = relationship("User", foreign_keys=[from_moderator_id])
    to_moderator = relationship("User", foreign_keys=[to_moderator_id])

    __table_args__ = (
        Index("ix_assignment_changes_changed", "changed_at"),
        Index("ix_assignment_changes_conversation", "conversation_id", "changed_at"),
        Index("ix_assignment_changes_to", "to_moderator_id", "changed_at"),
        Index("ix_assignment_changes_reason", "reason", "changed_at"),
    )
