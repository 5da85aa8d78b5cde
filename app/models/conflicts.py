"""Assignment conflicts: detected, logged, resolved (by the engine or an admin)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db

# The values stored in ``AssignmentConflict.kind`` (``services.conflicts.record``): two claims of
# one conversation at once; a client approached through two profiles; waiting work held by an
# offline / a disabled moderator.
CONFLICT_KINDS = ("claim_race", "double_approach", "held_by_offline", "held_by_disabled")


class AssignmentConflict(db.Model):
    __tablename__ = "assignment_conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    moderator_ids: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    detail: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    detected_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolution: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    resolved_by = relationship("User")

    __table_args__ = (
        Index("ix_assignment_conflicts_open", "resolved_at", "detected_at"),
        Index("ix_assignment_conflicts_kind", "kind", "detected_at"),
    )
