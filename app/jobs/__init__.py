"""RQ jobs: thin functions taking ids and strings, run by ``worker.py``.

Mails are rendered where the event happens (request or job) and the mail job only sends
strings, so a retry sends exactly what was decided.
"""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from rq import Queue, Retry

from ..redis_client import get_redis


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis())


def enqueue_email(to: str, subject: str, text: str, html: str | None = None):
    from .mail import send_email

    return get_queue("high").enqueue(
        send_email, to, subject, text, html,
        retry=Retry(max=5, interval=[10, 30, 60, 300, 900]), job_timeout=60, result_ttl=3600,
        failure_ttl=7 * 24 * 3600, description=f"mail to {to}: {subject}",
    )


def enqueue_welcome_email(user):
    with force_locale(user.locale):
        subject = _("Welcome to Switchboard")
        context = {"user": user, "login_url": current_app.config["PUBLIC_URL"].rstrip("/") + "/login"}
        text = render_template("emails/welcome.txt", **context)
        html = render_template("emails/welcome.html", **context)
    return enqueue_email(user.email, subject, text, html)
