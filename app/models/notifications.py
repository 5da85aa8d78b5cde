"""The notification centre: what a user is told in the app (and, by their preferences, by mail).

A notification stores what happened, not its words: ``kind`` and ``params`` are turned into text
in the reader's language when it is read (``web.templating``). Events about one object merge
into its unread notification (``object_key``): a partial unique index keeps one unread per user,
kind and object; ``count`` says how many events it gathers and ``updated_at`` moves it to the top.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db

# What a notification is about (labels and texts: ``web.templating``; mail defaults: ``MAIL_BY_DEFAULT``).
NOTIFICATION_KINDS = ("reply", "work_assigned", "round_called", "report_outcome", "ticket", "job_failed",
                      "export_ready")
# The kinds mailed unless the user says otherwise (the others are in-app only unless asked for).
MAIL_BY_DEFAULT = ("reply", "round_called", "report_outcome", "ticket", "job_failed")


class Notification(db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    object_key: Mapped[str] = mapped_column(String(48), nullable=False)  # "conversation:12", "ticket:3"…
    params: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # what the text is made of
    link: Mapped[str] = mapped_column(String(300), nullable=False, default="")  # a path of this site
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set by the mail job that sent it (compare-and-set): a merged event or a job run twice mails nothing more.
    mailed_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        CheckConstraint(f"kind IN {NOTIFICATION_KINDS!r}", name="kind"),
        Index("uq_notifications_one_unread", "user_id", "kind", "object_key", unique=True,
              sqlite_where=text("read_at IS NULL"), postgresql_where=text("read_at IS NULL")),
        Index("ix_notifications_user_updated", "user_id", "updated_at", "id"),
    )


class MailDelivery(db.Model):
    """A mail sent once (``services.deliveries``): its key is claimed before the mail goes and
    marked sent after, so a job run twice, or retried after it sent, sends nothing more."""
    __tablename__ = "mail_deliveries"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254), nullable=False)
    claimed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)  # None: being sent (or its sender died)
