"""The moderator queue: online moderators accepting new work, in the order they get it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db


class QueueEntry(db.Model):
    __tablename__ = "moderator_queue"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    moderator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, unique=True)
    queued_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Active conversations held (see services.assignment): moved by ``load = load ± n`` in the
    # transaction that changes hands, never written back from a read; resynced every minute.
    load: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")


# The next in line is the first entry of this index whose moderator is available: a few index
# probes. (Without it, joining the queue to the users to keep the available ones scanned every
# user; ``bench/assignment.py`` measures the pick.)
Index("ix_moderator_queue_pick", QueueEntry.load, QueueEntry.priority.desc(), QueueEntry.queued_at,
      QueueEntry.moderator_id)
