"""Sending mail (rendered beforehand) through Flask-Mail."""
from __future__ import annotations

from flask_mail import Message

from ..extensions import mail
from .context import job_context


def send_email(to: str, subject: str, text: str, html: str | None = None) -> str:
    with job_context() as app:
        message = Message(subject=subject, recipients=[to], body=text, html=html,
                          sender=app.config["MAIL_DEFAULT_SENDER"])
        mail.send(message)
    return to
