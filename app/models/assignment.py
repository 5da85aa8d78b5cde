"""Who holds each profile now, and the history of who held each conversation and why it changed hands."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, Enum, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db


class ChangeReason(str, enum.Enum):
    NEW = "new"                # first assignment of waiting work
    QUEUE = "queue"            # given to the first moderator waiting in the queue
    BALANCE = "balance"        # moved by load balancing
    INACTIVITY = "inactivity"  # taken from a moderator idle for too long
    DISCONNECT = "disconnect"  # the holder went offline or was disabled
    MANUAL = "manual"          # an admin reassigned it by hand
    # The stored type also allows "conflict", which no path ever recorded (a resolved conflict
    # changes no hands): left in the schema, gone from the choices.


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


class ProfileAssignment(db.Model):
    """A profile given to one moderator: the moderator answers the profile's conversations.

    One row per profile (the primary key), so a profile has at most one moderator. Conversations
    name their moderator through a composite foreign key to ``(profile_id, moderator_id)`` here,
    with ``ON UPDATE CASCADE``: a conversation can only be held by its profile's holder, and moving
    the profile moves its conversations in the same statement.
    """

    __tablename__ = "profile_assignments"

    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True)
    moderator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    assigned_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    # When the profile last changed hands (anti ping-pong: balancing leaves it alone for a while).
    last_moved_at: Mapped[datetime | None] = mapped_column(DateTime)

    profile = relationship("Profile")
    moderator = relationship("User")

    __table_args__ = (
        UniqueConstraint("profile_id", "moderator_id", name="uq_profile_assignments_profile_moderator"),
        Index("ix_profile_assignments_moderator", "moderator_id"),
    )
