"""Profiles: the personas clients talk to, operated by moderators."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db


class Profile(db.Model):
    __tablename__ = "profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    age: Mapped[int] = mapped_column(Integer, nullable=False)
    city: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    bio: Mapped[str] = mapped_column(Text, nullable=False, default="")
    avatar_filename: Mapped[str | None] = mapped_column(String(120))
    # An accepted upload waiting for its job (``jobs.avatars``) to make the avatar; the placeholder
    # shows until then. The original is kept outside the served folder and never served.
    avatar_pending: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_profiles_active_name", "active", "name"),)

    def __repr__(self) -> str:
        return f"<Profile {self.id} {self.name}>"
