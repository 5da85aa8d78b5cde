"""Expiring locks: one row per locked profile / client, taken by a conditional upsert."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db

# The values stored in ``ProfileLock.lock_type``: taken while the profile is being assigned, or
# while its moderator types an answer (``services.locks.ANSWERING``); and in ``ClientLock.lock_reason``.
PROFILE_LOCK_TYPES = ("assignment", "answering")
CLIENT_LOCK_REASONS = ("approach",)


class ProfileLock(db.Model):
    """A profile reserved for one moderator while it is being assigned (default 500 s max)."""

    __tablename__ = "profile_locks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, unique=True)
    moderator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    token: Mapped[str] = mapped_column(String(32), nullable=False)
    locked_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    lock_type: Mapped[str] = mapped_column(String(20), nullable=False, default="assignment")

    profile = relationship("Profile")
    moderator = relationship("User")

    __table_args__ = (Index("ix_profile_locks_expires", "expires_at"),
                      Index("ix_profile_locks_moderator", "moderator_id"))


class ClientLock(db.Model):
    """A client reserved for one moderator/profile so no one else approaches them (default 30 s)."""

    __tablename__ = "client_locks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, unique=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False)
    moderator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    token: Mapped[str] = mapped_column(String(32), nullable=False)
    locked_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    lock_reason: Mapped[str] = mapped_column(String(40), nullable=False, default="approach")

    client = relationship("User", foreign_keys=[client_id])
    profile = relationship("Profile")
    moderator = relationship("User", foreign_keys=[moderator_id])

    __table_args__ = (Index("ix_client_locks_expires", "expires_at"),)


class UnlockRequest(db.Model):
    """A moderator asks an admin to free a locked profile."""

    __tablename__ = "unlock_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    requested_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)

    profile = relationship("Profile")
    requested_by = relationship("User", foreign_keys=[requested_by_id])

    __table_args__ = (Index("ix_unlock_requests_status", "status", "requested_at"),)
