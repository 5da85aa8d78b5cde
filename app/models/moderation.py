"""Moderation: the sanctions on clients (ban, mute) and the log of every moderation action."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db

SANCTION_KINDS = ("ban", "mute")

# What the moderation log records, by stored value (labels: ``web.templating.MODERATION_ACTION_LABELS``).
MODERATION_ACTIONS = (
    "ban", "unban", "mute", "unmute", "sanction_ended", "warn",
    "filter_blocked", "filter_masked", "filter_flagged",
    "report_decided", "account_disabled", "account_enabled",
    "manual_reassignment", "forced_unlock", "role_promoted", "role_demoted",
)


class Sanction(db.Model):
    """A ban (the client may not use the chat) or a mute (the client reads but may not send) on a
    client, from ``started_at`` until ``ends_at`` (``None``: until lifted). Lifted by hand
    (``lifted_at``, ``lifted_by_id``) or ended by the scheduled pass when ``ends_at`` passes; the row
    stays. ``conversation_id``: the conversation a moderator muted the client from, if any."""
    __tablename__ = "sanctions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    imposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    ends_at: Mapped[datetime | None] = mapped_column(DateTime)
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    client = relationship("User", foreign_keys=[client_id], lazy="raise_on_sql")
    imposed_by = relationship("User", foreign_keys=[imposed_by_id], lazy="raise_on_sql")

    __table_args__ = (
        CheckConstraint(f"kind IN {SANCTION_KINDS!r}", name="kind"),
        # the running sanctions of a client: what the send path and the socket ask
        Index("ix_sanctions_client_running", "client_id", "lifted_at"),
        # the scheduled pass: sanctions whose end has passed and are not lifted yet
        Index("ix_sanctions_ends", "lifted_at", "ends_at"),
    )

    def running(self, now: datetime) -> bool:
        return self.lifted_at is None and self.started_at <= now and (self.ends_at is None or self.ends_at > now)


class ModerationAction(db.Model):
    """One line of the moderation log: who (``actor_id``; ``None`` for Switchboard itself, a filter
    or the scheduled end of a sanction) did what (``action``) to whom (``subject_id``), why, when.
    Append-only: no code path updates or deletes a line (``services.moderation.log`` refuses it in
    the session, the database refuses updates, and ``tests/services/test_moderation_log.py``
    checks the source)."""
    __tablename__ = "moderation_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("profiles.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    sanction_id: Mapped[int | None] = mapped_column(ForeignKey("sanctions.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    until: Mapped[datetime | None] = mapped_column(DateTime)
    # what else the action needs to be understood (a filter rule's id, a report's id and outcome…)
    detail: Mapped[dict | None] = mapped_column(JSON)

    actor = relationship("User", foreign_keys=[actor_id], lazy="raise_on_sql")
    subject = relationship("User", foreign_keys=[subject_id], lazy="raise_on_sql")

    __table_args__ = (
        CheckConstraint(f"action IN {MODERATION_ACTIONS!r}", name="action"),
        Index("ix_moderation_log_created", "created_at"),
        Index("ix_moderation_log_subject", "subject_id", "created_at"),
        Index("ix_moderation_log_action", "action", "created_at"),
    )
