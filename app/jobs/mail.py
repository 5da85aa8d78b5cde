"""Sending mail (rendered beforehand) through Flask-Mail."""
from __future__ import annotations

from datetime import timedelta

from flask_mail import Message

from ..clock import utcnow
from ..database import write_transaction
from ..extensions import mail
from ..services import deliveries
from .context import job_context
from .policy import JobKind


def send_email(to: str, subject: str, text: str, html: str | None = None) -> str:
    with job_context() as app:
        message = Message(subject=subject, recipients=[to], body=text, html=html,
                          sender=app.config["MAIL_DEFAULT_SENDER"])
        mail.send(message)
    return to


class ClaimedElsewhere(RuntimeError):
    """Another run claimed the mail and has not marked it sent (it may be sending, or was killed):
    this run fails and its retry looks again, taking the claim over once it is stale."""


def send_email_once(key: str, to: str, subject: str, text: str, html: str | None = None) -> str | None:
    """``send_email``, at most once per ``key`` (``services.deliveries``): the key is claimed and
    committed, the mail sent outside any transaction, then the key marked sent; an SMTP error gives
    the key back and the retry sends."""
    with job_context() as app:
        stale_after = timedelta(seconds=app.config["MAIL_CLAIM_STALE_SECONDS"])
        with write_transaction():
            if not deliveries.claim(key, to, utcnow(), stale_after):
                if deliveries.was_sent(key):
                    return None
                raise ClaimedElsewhere(f"mail {key} is claimed by another run, not sent yet")
        try:
            mail.send(Message(subject=subject, recipients=[to], body=text, html=html,
                              sender=app.config["MAIL_DEFAULT_SENDER"]))
        except BaseException:
            with write_transaction():
                deliveries.release(key)
            raise
        with write_transaction():
            deliveries.sent(key, utcnow())
    return to


def _recipient_and_subject(first: int):
    """A mail job's arguments as shown to admins: recipient and subject (from position ``first``),
    never the text, whose links are for the recipient alone."""
    def shown(args: tuple, kwargs: dict) -> str:
        to, subject = (list(args[first:first + 2]) + [kwargs.get("to"), kwargs.get("subject")])[:2]
        return f"to {to}: {subject}"
    return shown


SEND_EMAIL = JobKind(send_email, queue="high", attempts=6, backoff=30, backoff_max=900, timeout=60,
                     result_ttl=3600, shown=_recipient_and_subject(0))
SEND_EMAIL_ONCE = JobKind(send_email_once, queue="high", attempts=6, backoff=30, backoff_max=900, timeout=60,
                          result_ttl=3600, shown=_recipient_and_subject(1))
