"""Reports: a client reporting a profile's message or a profile, a moderator reporting a client;
an admin's decision on each; the notices that tell people the outcome (or warn a client)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db

# What is reported: a profile's message, a profile, a client (labels: ``web.templating.REPORT_KIND_LABELS``).
REPORT_KINDS = ("message", "profile", "client")
# Why (labels: ``REPORT_REASON_LABELS``).
REPORT_REASONS = ("spam", "harassment", "inappropriate", "scam", "other")
REPORT_STATES = ("open", "decided")
# What an admin decided (labels: ``REPORT_DECISION_LABELS``): warn, mute and ban only for a client.
REPORT_DECISIONS = ("dismiss", "upheld", "warn", "mute", "ban")
# A notice tells its user a report's outcome, or warns a client (labels: ``NOTICE_KIND_LABELS``).
NOTICE_KINDS = ("outcome", "warning")


class Report(db.Model):
    """One report. ``object_id`` names what is reported, by ``kind``: a message's, a profile's or a
    client's id. At most one open report per reporter and object (a partial unique index)."""
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    object_id: Mapped[int] = mapped_column(Integer, nullable=False)
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("profiles.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    reason: Mapped[str] = mapped_column(String(16), nullable=False)
    comment: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    state: Mapped[str] = mapped_column(String(8), nullable=False, default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str | None] = mapped_column(String(8))
    decision_note: Mapped[str | None] = mapped_column(String(500))
    sanction_id: Mapped[int | None] = mapped_column(ForeignKey("sanctions.id"))

    reporter = relationship("User", foreign_keys=[reporter_id], lazy="raise_on_sql")
    client = relationship("User", foreign_keys=[client_id], lazy="raise_on_sql")
    profile = relationship("Profile", foreign_keys=[profile_id], lazy="raise_on_sql")
    message = relationship("Message", foreign_keys=[message_id], lazy="raise_on_sql")

    __table_args__ = (
        CheckConstraint(f"kind IN {REPORT_KINDS!r}", name="kind"),
        CheckConstraint(f"reason IN {REPORT_REASONS!r}", name="reason"),
        CheckConstraint(f"state IN {REPORT_STATES!r}", name="state"),
        CheckConstraint(f"decision IS NULL OR decision IN {REPORT_DECISIONS!r}", name="decision"),
        CheckConstraint("(state = 'open') = (decision IS NULL)", name="decided_has_decision"),
        Index("uq_reports_one_open", "reporter_id", "kind", "object_id", unique=True,
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
        # the admins' queue: by state, oldest first
        Index("ix_reports_state_created", "state", "created_at"),
        # the reporter's rate limit
        Index("ix_reports_reporter_created", "reporter_id", "created_at"),
    )


class ModerationNotice(db.Model):
    """A message to one user in their pages until they dismiss it: a report's outcome for its
    reporter, or a warning for a client."""
    __tablename__ = "moderation_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(DateTime)

    report = relationship("Report", lazy="joined")

    __table_args__ = (
        CheckConstraint(f"kind IN {NOTICE_KINDS!r}", name="kind"),
        Index("ix_moderation_notices_user", "user_id", "dismissed_at"),
    )
