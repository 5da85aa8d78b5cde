"""The moderator's desk: what a persona has said about itself (its fact sheet) and what each client
has told a profile (the client's notes), every saved version kept.

Each save is a new row with the next ``version`` of its sheet; the current text is the highest
version. A save names the version it started from and is refused when that is no longer the
latest (``services.desk_notes``); the unique constraint on (sheet, version) refuses the second of
two saves racing from the same version."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db


class ProfileFactVersion(db.Model):
    """One saved version of a profile's fact sheet: who wrote it, when, the whole text."""
    __tablename__ = "profile_fact_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    author = relationship("User", foreign_keys=[author_id])

    __table_args__ = (UniqueConstraint("profile_id", "version", name="uq_profile_fact_versions_version"),)


class ClientNoteVersion(db.Model):
    """One saved version of the notes on a client as seen from one profile (shared by every
    moderator who holds that profile): who wrote it, when, the whole text."""
    __tablename__ = "client_note_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    author = relationship("User", foreign_keys=[author_id])

    __table_args__ = (UniqueConstraint("profile_id", "client_id", "version", name="uq_client_note_versions_version"),)
