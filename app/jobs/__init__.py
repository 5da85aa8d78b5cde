"""RQ jobs: thin functions taking ids and strings, run by ``worker.py``.

Mails are rendered where the event happens (request or job) and the mail job only sends
strings, so a retry sends exactly what was decided.
"""
from __future__ import annotations

import hashlib

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from .policy import get_queue

__all__ = ["get_queue", "enqueue_email", "enqueue_email_once"]


def enqueue_email(to: str, subject: str, text: str, html: str | None = None):
    from .mail import SEND_EMAIL

    return SEND_EMAIL.enqueue(to, subject, text, html, description=f"mail to {to}: {subject}")


def enqueue_email_once(key: str, to: str, subject: str, text: str, html: str | None = None):
    """``enqueue_email`` for a mail that must go at most once (``mail.send_email_once``)."""
    from .mail import SEND_EMAIL_ONCE

    return SEND_EMAIL_ONCE.enqueue(key, to, subject, text, html, description=f"mail to {to}: {subject}")


def _public_url(path: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def _mail_in_language(user, template: str, subject, **context) -> tuple[str, str, str]:
    """Subject, text and HTML of ``emails/<template>``, in the user's language."""
    with force_locale(user.locale):
        context["user"] = user
        return (str(subject), render_template(f"emails/{template}.txt", **context),
                render_template(f"emails/{template}.html", **context))


def enqueue_welcome_email(user):
    """The welcome mail, once per account (after activation, or at sign-up without it)."""
    subject, text, html = _mail_in_language(user, "welcome", _l("Welcome to Switchboard"),
                                            login_url=_public_url("/login"))
    return enqueue_email_once(f"welcome:{user.id}", user.email, subject, text, html)


def _link_key(kind: str, user, token: str) -> str:
    """One delivery per link: the job run twice sends it once; a new link (sent again) is a new mail."""
    return f"{kind}:{user.id}:{hashlib.sha256(token.encode()).hexdigest()[:40]}"


def enqueue_activation_email(user, token: str, link_path: str, max_age_seconds: int):
    """The sign-up's activation link, in the user's language."""
    subject, text, html = _mail_in_language(user, "activation", _l("Activate your Switchboard account"),
                                            link=_public_url(link_path), hours=max(1, max_age_seconds // 3600))
    return enqueue_email_once(_link_key("activation", user, token), user.email, subject, text, html)


def enqueue_password_reset_email(user, token: str, link_path: str, max_age_seconds: int):
    """A password reset link, in the user's language."""
    subject, text, html = _mail_in_language(user, "password_reset", _l("Reset your Switchboard password"),
                                            link=_public_url(link_path), minutes=max(1, max_age_seconds // 60))
    return enqueue_email_once(_link_key("reset", user, token), user.email, subject, text, html)
