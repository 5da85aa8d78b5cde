"""Passwords: how they are hashed and verified, and which ones are refused.

New hashes are argon2id (argon2-cffi) with the cost taken from the settings; hashes made before
by Werkzeug (scrypt, pbkdf2) still verify, and ``needs_rehash`` says when a stored hash is not
what the settings would make now, so a successful log-in can replace it. ``PASSWORD_HASH_METHOD``
may name a Werkzeug method instead (a cheap one for tests).

Refused everywhere a password is chosen (sign-up, reset, change, an admin's or the command line's
set): shorter than ``PASSWORD_MIN_LENGTH``, longer than ``MAX_LENGTH``, one of the most common
passwords as a whole (zxcvbn's "passwords" frequency list, its l33t and reversed spellings
included), or the account's own e-mail address or name.
"""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from .errors import ValidationError

ARGON2 = "argon2"
ARGON2_PREFIX = "$argon2"
MAX_LENGTH = 200
# Longer than any entry of zxcvbn's list: no need to ask it (its matching grows with the length).
_LONGEST_COMMON = 40


def _argon2(config) -> PasswordHasher:
    return PasswordHasher(time_cost=config["ARGON2_TIME_COST"], memory_cost=config["ARGON2_MEMORY_COST_KIB"],
                          parallelism=config["ARGON2_PARALLELISM"])


def hash_password(password: str, config) -> str:
    """A new hash of ``password`` with the method and cost of the settings."""
    method = config["PASSWORD_HASH_METHOD"]
    if method == ARGON2:
        return _argon2(config).hash(password)
    return generate_password_hash(password, method)


def verify(password_hash: str, password: str, config) -> bool:
    """Whether ``password`` matches the stored hash, whatever method made it."""
    if password_hash.startswith(ARGON2_PREFIX):
        try:
            return _argon2(config).verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
    try:
        return check_password_hash(password_hash, password)
    except ValueError:  # a method this Werkzeug does not know
        return False


def needs_rehash(password_hash: str, config) -> bool:
    """Whether the stored hash differs from what the settings make now (another method or cost)."""
    method = config["PASSWORD_HASH_METHOD"]
    if method == ARGON2:
        if not password_hash.startswith(ARGON2_PREFIX):
            return True
        try:
            return _argon2(config).check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
    return password_hash.split("$", 1)[0] != method


def is_common(password: str) -> bool:
    """The whole password is one entry of zxcvbn's list of the most used passwords."""
    if len(password) > _LONGEST_COMMON:
        return False
    from zxcvbn import zxcvbn  # its dictionaries load on first use

    sequence = zxcvbn(password)["sequence"]
    return (len(sequence) == 1 and sequence[0].get("dictionary_name") == "passwords"
            and len(sequence[0].get("token", "")) == len(password))


def check_acceptable(password, config, *, email: str = "", display_name: str = "") -> str:
    """``password`` if it may be chosen, else a ValidationError saying why."""
    shortest = config["PASSWORD_MIN_LENGTH"]
    if not isinstance(password, str) or len(password) < shortest:
        raise ValidationError(_l("The password must be at least %(n)d characters long.", n=shortest))
    if len(password) > MAX_LENGTH:
        raise ValidationError(_l("The password must be at most %(n)d characters long.", n=MAX_LENGTH))
    folded = password.strip().casefold()
    if folded in {(email or "").strip().casefold(), (display_name or "").strip().casefold()}:
        raise ValidationError(_l("The password must not be your e-mail address or your name."))
    if is_common(password):
        raise ValidationError(_l("This password is one of the most common ones: choose another."))
    return password
