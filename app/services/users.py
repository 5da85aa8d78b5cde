"""Accounts: create, authenticate, disable."""
from __future__ import annotations

import logging
import os
from datetime import datetime

import email_validator
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import Role, User
from .errors import NotFound, ValidationError
from .moderation import log as moderation_log

log = logging.getLogger(__name__)

# Staff and demo accounts live on internal domains (switchboard.local, example.test):
# accept those special-use names, as email_validator documents.
for _internal in ("local", "test"):
    if _internal in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(_internal)
LOCALES = ("fr", "en", "es", "de")


def normalize_email(email: str) -> str:
    try:
        return validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationError(_l("Enter a valid e-mail address."))


def create_user(*, email: str, password: str, role: Role, display_name: str, locale: str = "fr") -> User:
    """Add a user; e-mails are unique, case-insensitively."""
    email = normalize_email(email)
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 80:
        raise ValidationError(_l("The display name must be 1 to 80 characters long."))
    shortest = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password or "") < shortest:
        raise ValidationError(_l("The password must be at least %(n)d characters long.", n=shortest))
    if locale not in LOCALES:
        locale = "fr"
    if find_by_email(email) is not None:
        raise ValidationError(_l("An account already uses this e-mail address."))
    user = User(email=email, role=Role(role), display_name=display_name, locale=locale, active=True)
    user.set_password(password)
    try:
        with db.session.begin_nested():  # a savepoint: the caller's transaction goes on
            db.session.add(user)
    except IntegrityError:
        # Two sign-ups with one e-mail at the same instant: both found it free, the unique index
        # let one in. The other gets the answer it would have got a moment later.
        if find_by_email(email) is not None:
            raise ValidationError(_l("An account already uses this e-mail address."))
        raise
    return user


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


_dummy_hashes: dict[str, str] = {}  # hash method -> a hash of nothing anyone types, made once per process
dummy_verifications = 0  # how many log-ins named no account (read by the tests)


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(os.urandom(16).hex(), method)
    return _dummy_hashes[method]


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for every failure). A password
    is verified in every case, against a dummy hash of the same method when no account has this
    e-mail: an unknown address answers as slowly as a known one (bench/login_timing.py)."""
    global dummy_verifications
    user = find_by_email(email or "")
    if user is None:
        dummy_verifications += 1
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    return user


def set_active(user_id: int, active: bool, now: datetime, actor: User | None = None, reason: str | None = None) -> User:
    """Enable or disable an account; a change writes a line of the moderation log (``actor``:
    the admin, ``None`` for the command line)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such user."))
    if user.active != active:
        moderation_log.record("account_enabled" if active else "account_disabled", actor=actor, subject=user,
                              reason=reason, now=now)
    user.active = active
    if not active:
        user.session_version += 1  # its sessions end, they would not come back on re-enabling
        user.is_online = False
        from .assignment import release_moderator_conversations  # avoid an import cycle

        release_moderator_conversations(user.id, now)
        from . import moderator_queue

        moderator_queue.leave(user.id)
        from . import events

        events.record(events.AccountDisabled(user.id))
    return user


def end_sessions(user_id: int, actor_id: int | None, now: datetime) -> User:
    """End every session of ``user_id``, wherever its cookie was copied to: the session version
    each one holds is now stale (checked when the user is loaded), and their open pages' sockets
    are closed after the commit. ``actor_id``: the admin who did it, or the user logging out."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such user."))
    user.session_version = User.session_version + 1  # in the database: two at once both count
    db.session.flush()
    from . import events

    events.record(events.SessionsEnded(user.id))
    log.info("sessions of user %s ended by %s at %s", user.id,
             "themselves" if actor_id == user.id else f"user {actor_id}", now.isoformat())
    return user


def set_password(user_id: int, password: str, actor_id: int | None, now: datetime) -> User:
    """An admin sets a new password: the account's sessions end everywhere (``end_sessions``)."""
    shortest = current_app.config["PASSWORD_MIN_LENGTH"]
    if not isinstance(password, str) or not shortest <= len(password) <= 200:
        raise ValidationError(_l("The password must be at least %(n)d characters long.", n=shortest))
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such user."))
    user.set_password(password)
    return end_sessions(user.id, actor_id, now)


def list_users(role: Role | None = None, limit: int = 500) -> list[User]:
    query = select(User).order_by(User.role, User.created_at.desc()).limit(limit)
    if role is not None:
        query = query.where(User.role == role)
    return list(db.session.scalars(query))
