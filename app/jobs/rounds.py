"""Notification-round jobs: the pending-messages pass (every 10 min) and the round check.

The pass records its round in one transaction; only after that commit does it render and
enqueue the e-mails, so a pass that recorded nothing (another pass won, see services.rounds)
sends nothing, and a retry of a pass whose round committed finds the cycle open and sends
nothing either. Each e-mail is a mail job with retries, sent once per round and moderator. Marking the round's messages
notified is a job of its own (``mark_round_messages_notified``, with retries): a backlog of
100,000 waiting messages takes a few seconds to mark, and the pass need not wait for it.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app, render_template, url_for
from flask_babel import force_locale, format_timedelta, ngettext

from ..clock import utcnow
from ..database import write_transaction
from ..extensions import db
from ..models import NotificationRound
from ..services import pending, rounds
from .context import job_context
from .policy import JobKind


def process_pending_messages(now_iso: str | None = None) -> dict:
    """``now_iso`` lets a test run the pass at a chosen instant."""
    return _run(rounds.start_notification_round, now_iso)


def check_notification_round(now_iso: str | None = None) -> dict:
    return _run(rounds.check_notification_round, now_iso)


def _run(step, now_iso: str | None) -> dict:
    with job_context() as app:
        now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
        with write_transaction():
            outcome = step(now, rounds.Settings.from_config(app.config))
        if outcome.action == "round":
            enqueue_round_emails(outcome.round_id, now)
            MARK_ROUND_MESSAGES.enqueue(outcome.round_id,
                                        description=f"mark the messages of round #{outcome.round_id} notified")
        return outcome.as_dict()


def mark_round_messages_notified(round_id: int, batch: int | None = None) -> int:
    """The messages that were waiting when the round was sent are notified: in batches, each a
    short transaction (see ``pending.mark_notified``). Running it again marks nothing more."""
    with job_context():
        round_ = db.session.get(NotificationRound, round_id)
        if round_ is None:
            return 0
        up_to, marked = round_.sent_at, 0
        batch = batch or current_app.config["ROUNDS_MARK_BATCH"]
        while True:
            with write_transaction():
                count = pending.mark_notified(up_to, batch)
            marked += count
            if count < batch:
                return marked


MARK_ROUND_MESSAGES = JobKind(mark_round_messages_notified, attempts=4, backoff=10, backoff_max=300, timeout=300)


def enqueue_round_emails(round_id: int, now: datetime) -> int:
    """Render each called-in moderator's e-mail in their language and enqueue it (once per round
    and moderator, however often this runs)."""
    from . import enqueue_email_once

    round_ = db.session.get(NotificationRound, round_id)
    for notification in round_.notifications:
        moderator = notification.moderator
        with force_locale(moderator.locale):
            count = round_.pending_messages_count
            subject = ngettext("%(num)d client message is waiting for an answer",
                               "%(num)d client messages are waiting for an answer", count)
            context = {
                "moderator": moderator, "count": count,
                "oldest_wait": format_timedelta(now - round_.oldest_pending_since) if round_.oldest_pending_since else None,
                "workspace_url": workspace_login_url(),
            }
            text = render_template("emails/pending_messages.txt", **context)
            html = render_template("emails/pending_messages.html", **context)
        enqueue_email_once(f"round:{round_id}:{notification.moderator_id}", notification.email, subject, text, html)
    return len(round_.notifications)


def workspace_login_url() -> str:
    """The login page, which goes on to the workspace (straight there when already logged in)."""
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    return base + url_for("auth.login", next=url_for("moderator.workspace"))
