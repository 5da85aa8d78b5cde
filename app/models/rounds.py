"""Notification rounds: e-mails calling moderators in while client messages wait.

A *cycle* starts with round 1 and ends when nothing is pending; each round of a cycle calls in
moderators not called before in that cycle. Two unique constraints make the rounds and the
e-mails happen once, whatever runs the jobs: ``(cycle, round_number)`` on rounds and
``(cycle, moderator_id)`` on notifications.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class NotificationRound(db.Model):
    __tablename__ = "moderator_notification_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle: Mapped[int] = mapped_column(Integer, nullable=False)
    round_number: Mapped[int] = mapped_column(Integer, nullable=False)
    moderator_ids_notified: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    sent_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    pending_messages_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    oldest_pending_since: Mapped[datetime | None] = mapped_column(DateTime)
    # When the check 30 minutes later looked at it (and started the next round if still pending).
    checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set on every round of a cycle when nothing is pending any more.
    cycle_ended_at: Mapped[datetime | None] = mapped_column(DateTime)

    notifications = relationship("RoundNotification", back_populates="round", order_by="RoundNotification.id")

    __table_args__ = (UniqueConstraint("cycle", "round_number", name="uq_moderator_notification_rounds_cycle_round"),)


class RoundNotification(db.Model):
    """One moderator called in by one round: at most one per moderator and cycle."""

    __tablename__ = "moderator_round_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle: Mapped[int] = mapped_column(Integer, nullable=False)
    round_id: Mapped[int] = mapped_column(ForeignKey("moderator_notification_rounds.id", ondelete="CASCADE"),
                                          nullable=False, index=True)
    moderator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)

    round = relationship("NotificationRound", back_populates="notifications")
    moderator = relationship("User")

    __table_args__ = (UniqueConstraint("cycle", "moderator_id", name="uq_moderator_round_notifications_cycle_moderator"),)
