"""People: clients, moderators, admins."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, DateTime, Enum, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db


class Role(str, enum.Enum):
    CLIENT = "client"
    MODERATOR = "moderator"
    ADMIN = "admin"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="user_role", values_callable=lambda e: [m.value for m in e]), nullable=False
    )
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(80), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)  # services.passwords
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    locale: Mapped[str] = mapped_column(String(5), nullable=False, default="fr")
    is_online: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    last_online_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_activity_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The moderator page's last heartbeat (every 2 min, sent even while its socket is down).
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    # Copied into the session at log-in; raised to end every session of the account (log-out,
    # disabling, the admin's "end sessions"): a session holding an older one is nobody.
    session_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # An IANA zone name ("Europe/Paris") times are shown in: the browser's at sign-up, else the
    # display zone (DISPLAY_TIMEZONE); the account page changes it.
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC", server_default="UTC")
    # When the sign-up's activation link was followed (or the account was made by an admin, the
    # CLI, the demo); None: it cannot log in yet (``ACCOUNT_ACTIVATION``).
    email_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Notification kinds mailed ({kind: bool}); a kind missing takes ``notifications.MAIL_BY_DEFAULT``.
    mail_preferences: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict, server_default="{}")

    __table_args__ = (
        Index("ix_users_role_online", "role", "is_online"),
        Index("ix_users_role_created", "role", "created_at"),
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_client(self) -> bool:
        return self.role == Role.CLIENT

    @property
    def is_moderator(self) -> bool:
        return self.role == Role.MODERATOR

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value} {self.email}>"
