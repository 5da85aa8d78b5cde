"""Accounts: create, authenticate, disable, change roles, passwords and settings."""
from __future__ import annotations

import logging
import os
import zoneinfo
from datetime import datetime
from functools import lru_cache

import email_validator
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..clock import utcnow
from ..database import write_transaction
from ..extensions import db
from ..models import Role, User
from . import passwords
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


def create_user(*, email: str, password: str, role: Role, display_name: str, locale: str = "fr",
                time_zone: str | None = None, confirmed: bool = True, now: datetime | None = None) -> User:
    """Add a user; e-mails are unique, case-insensitively. Accounts made by an admin, the command
    line or the demo are ``confirmed``; a sign-up's waits for its activation link (``sign_up``).
    ``time_zone``: the browser's at sign-up; none or one unknown here: the display zone."""
    email = normalize_email(email)
    display_name = check_display_name(display_name)
    passwords.check_acceptable(password, current_app.config, email=email, display_name=display_name)
    if locale not in LOCALES:
        locale = "fr"
    if find_by_email(email) is not None:
        raise ValidationError(_l("An account already uses this e-mail address."))
    user = User(email=email, role=Role(role), display_name=display_name, locale=locale, active=True,
                time_zone=time_zone if is_time_zone(time_zone) else current_app.config["BABEL_DEFAULT_TIMEZONE"],
                email_confirmed_at=(now or utcnow()) if confirmed else None)
    user.password_hash = passwords.hash_password(password, current_app.config)
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


def check_display_name(display_name) -> str:
    display_name = (display_name or "").strip() if isinstance(display_name, str) else ""
    if not display_name or len(display_name) > 80:
        raise ValidationError(_l("The display name must be 1 to 80 characters long."))
    return display_name


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """The IANA zone names this machine knows, sorted (the account page's choices)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def is_time_zone(name) -> bool:
    return isinstance(name, str) and name in set(time_zones())


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


_dummy_hashes: dict[tuple, str] = {}  # hash settings -> a hash of nothing anyone types, made once per process
dummy_verifications = 0  # how many log-ins named no account (read by the tests)
_HASH_SETTINGS = ("PASSWORD_HASH_METHOD", "ARGON2_TIME_COST", "ARGON2_MEMORY_COST_KIB", "ARGON2_PARALLELISM")


def dummy_hash() -> str:
    config = current_app.config
    key = tuple(config[name] for name in _HASH_SETTINGS)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = passwords.hash_password(os.urandom(16).hex(), config)
    return _dummy_hashes[key]


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for every failure). A password
    is verified in every case, against a dummy hash of the same method and cost when no account
    has this e-mail: an unknown address answers as slowly as a known one (bench/login_timing.py).
    A right password whose stored hash is of another method or cost is hashed again as the
    settings say now, and stored at once (``_replace_hash``)."""
    global dummy_verifications
    config = current_app.config
    user = find_by_email(email or "")
    if user is None:
        dummy_verifications += 1
        passwords.verify(dummy_hash(), password or "", config)
        return None
    if not passwords.verify(user.password_hash, password or "", config) or not user.active:
        return None
    if passwords.needs_rehash(user.password_hash, config):
        _replace_hash(user, passwords.hash_password(password, config))
    return user


def _replace_hash(user: User, new_hash: str) -> None:
    """Store a right password's hash made as the settings say now. Hashed before the write (no
    lock held meanwhile), then compare-and-set: a password changed in between is left alone."""
    old_hash = user.password_hash
    with write_transaction():
        replaced = db.session.execute(update(User).where(User.id == user.id, User.password_hash == old_hash)
                                      .values(password_hash=new_hash)).rowcount
    if replaced:
        log.info("password hash of user %s replaced (%s)", user.id, current_app.config["PASSWORD_HASH_METHOD"])


def set_active(user_id: int, active: bool, now: datetime, actor: User | None = None, reason: str | None = None) -> User:
    """Enable or disable an account; a change writes a line of the moderation log (``actor``:
    the admin, ``None`` for the command line)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such user."))
    if user.active != active:
        moderation_log.record("account_enabled" if active else "account_disabled", actor=actor, subject=user,
                              reason=reason, now=now)
        log.info("user %s %s by %s", user.id, "enabled" if active else "disabled",
                 f"user {actor.id}" if actor is not None else "the command line")
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
    """An admin (or the command line: ``actor_id`` None) sets a new password: the account's
    sessions end everywhere (``end_sessions``)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such user."))
    passwords.check_acceptable(password, current_app.config, email=user.email, display_name=user.display_name)
    user.password_hash = passwords.hash_password(password, current_app.config)
    log.info("password of user %s set by %s", user.id, f"user {actor_id}" if actor_id else "the command line")
    return end_sessions(user.id, actor_id, now)


def change_own_password(user: User, current_password: str, new_password: str, now: datetime) -> User:
    """The account page's change: the current password first, then a new acceptable one; every
    session of the account ends (the caller logs this one in again)."""
    config = current_app.config
    if not isinstance(current_password, str) or not passwords.verify(user.password_hash, current_password, config):
        raise ValidationError(_l("The current password is wrong."))
    passwords.check_acceptable(new_password, config, email=user.email, display_name=user.display_name)
    user.password_hash = passwords.hash_password(new_password, config)
    return end_sessions(user.id, user.id, now)


def update_settings(user: User, *, display_name: str, locale: str, time_zone: str) -> User:
    """The account page's settings: the name shown, the language, the time zone."""
    display_name = check_display_name(display_name)
    if locale not in LOCALES:
        raise ValidationError(_l("Choose a language from the list."))
    if not is_time_zone(time_zone):
        raise ValidationError(_l("Choose a time zone from the list."))
    user.display_name, user.locale, user.time_zone = display_name, locale, time_zone
    return user


def set_locale(user: User, locale: str) -> User:
    """The language menu's choice, kept on the account."""
    if locale not in LOCALES:
        raise ValidationError(_l("Choose a language from the list."))
    user.locale = locale
    return user


ROLE_ORDER = (Role.CLIENT, Role.MODERATOR, Role.ADMIN)


def change_role(user_id: int, role: Role, *, promote: bool, reason: str, actor: User | None, now: datetime) -> User:
    """Promote (to a higher role) or demote (to a lower one) an account, with a reason, in the
    moderation log. A moderator leaving the role leaves the queue and releases their
    conversations, as disabling them would; their sessions end (their pages were a moderator's)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such user."))
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError(_l("Give a reason."))
    role = Role(role)
    higher = ROLE_ORDER.index(role) > ROLE_ORDER.index(user.role)
    if role == user.role or higher != promote:
        if promote:
            raise ValidationError(_l("Choose a role above the account's current one (%(role)s).", role=user.role.value))
        raise ValidationError(_l("Choose a role below the account's current one (%(role)s).", role=user.role.value))
    previous = user.role
    moderation_log.record("role_promoted" if promote else "role_demoted", actor=actor, subject=user,
                          reason=reason, now=now, detail={"from": previous.value, "to": role.value})
    user.role = role
    if previous == Role.MODERATOR:
        user.is_online = False
        from .assignment import release_moderator_conversations  # avoid an import cycle

        release_moderator_conversations(user.id, now)
        from . import moderator_queue

        moderator_queue.leave(user.id)
    end_sessions(user.id, actor.id if actor is not None else None, now)
    log.info("role of user %s changed from %s to %s by %s: %s", user.id, previous.value, role.value,
             f"user {actor.id}" if actor is not None else "the command line", reason)
    return user


def list_users(role: Role | None = None, limit: int = 500) -> list[User]:
    query = select(User).order_by(User.role, User.created_at.desc()).limit(limit)
    if role is not None:
        query = query.where(User.role == role)
    return list(db.session.scalars(query))
