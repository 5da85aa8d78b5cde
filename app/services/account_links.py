"""Links mailed to an account's owner: activating a sign-up, resetting a forgotten password.

Invariants, and what guards each:
- A link is good for one purpose only: each kind is signed (itsdangerous, the app's SECRET_KEY)
  with its own salt, so an activation token is no reset token and the reverse.
- A link expires: the signature holds its time, checked against ``max_age`` and ``now``.
- A reset link works once: it holds a fingerprint (an HMAC under the secret key) of the
  password hash it was made for; setting a password changes the hash, and every link made
  before dies with it. The fingerprint reveals nothing of the hash, though the token is readable.
- A reset answers the same whether the address has an account or not (``account_for_reset``
  returns None quietly; the view says the same thing either way).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from ..clock import whole_seconds
from ..extensions import db
from ..models import Role, User
from . import passwords, users
from .errors import ServiceError

log = logging.getLogger(__name__)

ACTIVATION = "switchboard.account-activation"
PASSWORD_RESET = "switchboard.password-reset"


class InvalidLink(ServiceError):
    """A mailed link that is forged, expired, already used or made for something else."""
    status_code = 400


def _serializer(secret_key: str, purpose: str, now: datetime) -> URLSafeTimedSerializer:
    """Signs and checks against ``now`` instead of the machine's clock (tests drive time)."""

    class SignerAtNow(TimestampSigner):
        def get_timestamp(self) -> int:
            return whole_seconds(now)

    return URLSafeTimedSerializer(secret_key, salt=purpose, signer=SignerAtNow)


def _fingerprint(password_hash: str, secret_key: str) -> str:
    return hmac.new(secret_key.encode(), password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def make_token(user: User, purpose: str, secret_key: str, now: datetime) -> str:
    """A signed link token for ``user`` and ``purpose`` (ACTIVATION or PASSWORD_RESET)."""
    payload = {"u": user.id, "e": user.email}
    if purpose == PASSWORD_RESET:
        payload["p"] = _fingerprint(user.password_hash, secret_key)
    return _serializer(secret_key, purpose, now).dumps(payload)


def _load(token, purpose: str, secret_key: str, max_age: int, now: datetime) -> User:
    """The account a token names, or InvalidLink (forged, expired, another purpose, the account
    gone, disabled, or its e-mail changed since)."""
    if not isinstance(token, str) or len(token) > 1000:
        raise InvalidLink(_l("This link is invalid or has expired."))
    try:
        payload = _serializer(secret_key, purpose, now).loads(token, max_age=max_age)
    except SignatureExpired:
        raise InvalidLink(_l("This link is invalid or has expired."))
    except BadSignature:
        log.info("a %s link with a bad signature was refused", purpose.rsplit(".", 1)[-1])
        raise InvalidLink(_l("This link is invalid or has expired."))
    user = db.session.get(User, payload.get("u")) if isinstance(payload, dict) and isinstance(payload.get("u"), int) \
        else None
    if user is None or not user.active or user.email != payload.get("e"):
        raise InvalidLink(_l("This link is invalid or has expired."))
    if purpose == PASSWORD_RESET and not hmac.compare_digest(str(payload.get("p", "")),
                                                              _fingerprint(user.password_hash, secret_key)):
        raise InvalidLink(_l("This link is invalid or has expired."))  # used, or the password changed since
    return user


# -- activation ----------------------------------------------------------------------------------

def sign_up(*, email: str, password: str, display_name: str, locale: str, time_zone: str, now: datetime,
            activation: bool) -> User:
    """A client's own account. With ``activation`` it waits for its mailed link before it can log
    in; the time zone comes from the browser, and an unknown one is UTC."""
    return users.create_user(email=email, password=password, role=Role.CLIENT, display_name=display_name,
                             locale=locale, time_zone=time_zone, confirmed=not activation, now=now)


@dataclass(frozen=True)
class Confirmation:
    user: User
    already: bool  # the link had been followed before (or the account was confirmed otherwise)


def confirm_email(token, secret_key: str, max_age: int, now: datetime) -> Confirmation:
    """Follow an activation link: the account is confirmed (once; the first time only counts)."""
    user = _load(token, ACTIVATION, secret_key, max_age, now)
    if user.email_confirmed_at is not None:
        return Confirmation(user, already=True)
    user.email_confirmed_at = now
    log.info("e-mail of user %s confirmed", user.id)
    return Confirmation(user, already=False)


def pending_activation(user_id, activation: bool) -> User | None:
    """The account a "check your mail" page is about, while it still waits for its link."""
    if not activation or not isinstance(user_id, int):
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and user.active and user.email_confirmed_at is None else None


# -- password reset ------------------------------------------------------------------------------

def account_for_reset(email) -> User | None:
    """The active account a reset asked with this address should reach, or None: the caller
    answers the same either way (no account, a disabled one, a malformed address)."""
    if not isinstance(email, str) or not email.strip() or len(email) > 254:
        return None
    user = users.find_by_email(email)
    return user if user is not None and user.active else None


def check_reset_token(token, secret_key: str, max_age: int, now: datetime) -> User:
    """The account a reset link is good for (the form is shown), or InvalidLink."""
    return _load(token, PASSWORD_RESET, secret_key, max_age, now)


def reset_password(token, new_password, secret_key: str, max_age: int, now: datetime) -> User:
    """Set the password a reset link asked for: the link dies with the old hash, every session of
    the account ends, and the address is confirmed (the link reached its mailbox)."""
    user = _load(token, PASSWORD_RESET, secret_key, max_age, now)
    passwords.check_acceptable(new_password, current_app.config, email=user.email, display_name=user.display_name)
    user.password_hash = passwords.hash_password(new_password, current_app.config)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
    log.info("password of user %s reset through a mailed link", user.id)
    return users.end_sessions(user.id, user.id, now)
