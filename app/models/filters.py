"""Content filters: the rules an admin edits, and the messages a rule flagged for review."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db

FILTER_KINDS = ("words", "pattern")
FILTER_ACTIONS = ("block", "mask", "flag")
FILTER_LANGUAGES = ("all", "en", "fr", "de", "es")


class FilterRule(db.Model):
    """One rule: a word list (one word or phrase a line, matched on word boundaries, case and
    accents ignored) or a regular expression (RE2 syntax: linear time), for messages written in
    ``language`` (``all``: every language), and what a hit does (``action``)."""
    __tablename__ = "filter_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    expression: Mapped[str] = mapped_column(Text, nullable=False)
    language: Mapped[str] = mapped_column(String(3), nullable=False, default="all")
    action: Mapped[str] = mapped_column(String(8), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint(f"kind IN {FILTER_KINDS!r}", name="kind"),
        CheckConstraint(f"action IN {FILTER_ACTIONS!r}", name="action"),
        CheckConstraint(f"language IN {FILTER_LANGUAGES!r}", name="language"),
    )


class FlaggedMessage(db.Model):
    """A message a ``flag`` rule let through, waiting for an admin to review it."""
    __tablename__ = "flagged_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), nullable=False)
    # the rule may be deleted since: the id stays as it was
    rule_id: Mapped[int | None] = mapped_column(Integer)
    flagged_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    message = relationship("Message", lazy="raise_on_sql")
    reviewed_by = relationship("User", lazy="raise_on_sql")

    __table_args__ = (
        Index("ix_flagged_messages_open", "reviewed_at", "flagged_at"),
    )
