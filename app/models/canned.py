"""Canned replies: texts a moderator inserts into the composer, global, per profile or their own."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db


class CannedReply(db.Model):
    """A reply text with placeholders. Its scope is one of: global (no profile, no owner, managed
    by admins), a profile's (``profile_id``, managed by admins), a moderator's own (``owner_id``,
    managed by that moderator). A reply never has both a profile and an owner (a check)."""
    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        CheckConstraint("profile_id IS NULL OR owner_id IS NULL", name="one_scope"),
        Index("ix_canned_replies_profile_id", "profile_id"),
        Index("ix_canned_replies_owner_id", "owner_id"),
    )

    @property
    def scope(self) -> str:
        if self.owner_id is not None:
            return "personal"
        return "profile" if self.profile_id is not None else "global"
