"""Support tickets: a client or a moderator raises a problem, an appeal of a ban or mute, or a
report about a conversation; admins assign, comment (publicly or as an internal note), change
status and priority. Every change is an event (``TicketEvent``), which is what people are told."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db

# Labels: ``web.templating``.
TICKET_KINDS = ("problem", "appeal", "conversation")
TICKET_STATES = ("open", "waiting", "resolved", "closed")  # waiting: for the user's answer
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_EVENT_ACTIONS = ("created", "assigned", "status", "priority", "commented")


class Ticket(db.Model):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opener_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String(8), nullable=False, default="open")
    priority: Mapped[str] = mapped_column(String(8), nullable=False, default="normal")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    sanction_id: Mapped[int | None] = mapped_column(ForeignKey("sanctions.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)

    opener = relationship("User", foreign_keys=[opener_id], lazy="raise_on_sql")
    assignee = relationship("User", foreign_keys=[assignee_id], lazy="raise_on_sql")

    __table_args__ = (
        CheckConstraint(f"kind IN {TICKET_KINDS!r}", name="kind"),
        CheckConstraint(f"state IN {TICKET_STATES!r}", name="state"),
        CheckConstraint(f"priority IN {TICKET_PRIORITIES!r}", name="priority"),
        CheckConstraint("kind <> 'conversation' OR conversation_id IS NOT NULL", name="conversation_linked"),
        Index("ix_tickets_state_updated", "state", "updated_at"),
        Index("ix_tickets_opener_updated", "opener_id", "updated_at"),
        Index("ix_tickets_assignee_state", "assignee_id", "state"),
    )


class TicketComment(db.Model):
    __tablename__ = "ticket_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    internal: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # admins only
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    author = relationship("User", foreign_keys=[author_id], lazy="raise_on_sql")

    __table_args__ = (Index("ix_ticket_comments_ticket", "ticket_id", "id"),)


class TicketEvent(db.Model):
    """One change of a ticket, by whom: what its people are told (by mail, once per event and person)."""
    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the command line
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    detail: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # {"from": …, "to": …}
    internal: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # seen by admins only
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        CheckConstraint(f"action IN {TICKET_EVENT_ACTIONS!r}", name="action"),
        Index("ix_ticket_events_ticket", "ticket_id", "id"),
    )
