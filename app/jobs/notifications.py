"""Notification jobs: what follows a commit (mails, a reply's check, a moderator away), the mail of
a notification, and the alert to admins when a job fails for good.

``after_commit`` is subscribed to ``services.events`` next to the realtime dispatcher: the jobs it
enqueues exist only for work that was stored.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app, render_template, url_for

from ..clock import utcnow
from ..database import write_transaction
from ..extensions import db
from ..models import Conversation, Notification, User
from ..models.chat import Sender
from ..redis_client import get_redis
from ..services import events, notifications, presence
from flask_babel import force_locale
from .context import job_context
from .policy import JobKind

log = logging.getLogger(__name__)


def after_commit(happened: list) -> None:
    """Enqueue what a committed unit of work's events call for."""
    away: dict[int, list[int]] = {}
    for e in happened:
        if isinstance(e, events.NotificationToMail):
            # a reply's mail waits a while: read in the meantime, it is not sent
            delay = current_app.config["NOTIFY_REPLY_MAIL_AFTER_SECONDS"] if e.kind == "reply" else 0
            MAIL_NOTIFICATION.enqueue_in(timedelta(seconds=delay), e.notification_id,
                                         description=f"notification {e.notification_id} by mail")
        elif isinstance(e, events.TicketChanged):
            from .tickets import enqueue_ticket_mails

            enqueue_ticket_mails(e.event_id)
        elif isinstance(e, events.MessagePosted) and _is_reply(e.message):
            NOTIFY_UNREAD_REPLY.enqueue_in(timedelta(seconds=current_app.config["NOTIFY_REPLY_AFTER_SECONDS"]),
                                           e.message.conversation_id, e.message.id,
                                           description=f"reply {e.message.id} still unread?")
        elif isinstance(e, events.WorkAssigned):
            away.setdefault(e.moderator_id, []).append(e.conversation_id)
        elif isinstance(e, events.WorkMoved):
            away.setdefault(e.to_id, []).extend(e.conversation_ids)
    if not away:
        return
    r, now = get_redis(), utcnow()
    for moderator_id, conversation_ids in away.items():
        if presence.live_socket_count(r, moderator_id, now) > 0:
            continue  # a page of theirs is open: the push shows the work (the job would find the same)
        NOTIFY_WORK_IF_AWAY.enqueue(moderator_id, conversation_ids,
                                    description=f"work for moderator {moderator_id} while away?")


def _is_reply(message) -> bool:
    sender = getattr(message, "sender", None)
    return sender == Sender.PROFILE or sender == Sender.PROFILE.value


def notify_unread_reply(conversation_id: int, message_id: int) -> bool:
    """A reply the client has not read ``NOTIFY_REPLY_AFTER_SECONDS`` later: they were elsewhere
    (another page, a hidden tab, gone). One notification per conversation until read."""
    with job_context():
        now = utcnow()
        with write_transaction():
            conversation = db.session.get(Conversation, conversation_id)
            if conversation is None or (conversation.client_last_read_id or 0) >= message_id:
                return False
            profile = conversation.profile
            notifications.notify(conversation.client_id, "reply", f"conversation:{conversation_id}", now=now,
                                 params={"profile": profile.name},
                                 link=notifications.path("chat.conversation", profile_id=profile.id))
        return True


def notify_work_if_away(moderator_id: int, conversation_ids: list[int]) -> bool:
    """Work given to a moderator with no page open: they find it in their notifications."""
    with job_context():
        now = utcnow()
        if presence.live_socket_count(get_redis(), moderator_id, now) > 0:
            return False
        with write_transaction():
            for conversation_id in conversation_ids:
                conversation = db.session.get(Conversation, conversation_id)
                if conversation is None or conversation.assigned_moderator_id != moderator_id:
                    continue
                notifications.notify(moderator_id, "work_assigned", f"profile:{conversation.profile_id}", now=now,
                                     params={"profile": conversation.profile.name},
                                     link=notifications.path("moderator.conversation", conversation_id=conversation_id))
        return True


def mail_notification(notification_id: int) -> bool:
    """The mail of a new notification, in its user's language, once (the key is the notification's):
    none if it was read or deleted meanwhile, or its user no longer wants this kind mailed."""
    from . import enqueue_email_once

    with job_context() as app:
        row = db.session.get(Notification, notification_id)
        user = db.session.get(User, row.user_id) if row is not None else None
        if row is None or row.read_at is not None or row.kind in notifications.MAILED_ELSEWHERE or user is None \
                or not user.active or not notifications.wants_mail(user, row.kind):
            return False
        base = app.config["PUBLIC_URL"].rstrip("/")
        with force_locale(user.locale):
            context = {"user": user, "notification": row, "link": base + (row.link or "/"),
                       "settings_link": base + url_for("auth.account")}
            subject = render_template("emails/notification_subject.txt", **context).strip()
            text = render_template("emails/notification.txt", **context)
            html = render_template("emails/notification.html", **context)
        if row.kind == "job_failed" and not notifications.claim_alert_mail(
                get_redis(), user.id, row.object_key, app.config["JOB_ALERT_MAIL_EVERY_SECONDS"]):
            return False  # this kind of job's failures were mailed to them within the hour
    enqueue_email_once(f"notification:{notification_id}", user.email, subject, text, html)
    return True


NOTIFY_UNREAD_REPLY = JobKind(notify_unread_reply, timeout=30, result_ttl=60)
NOTIFY_WORK_IF_AWAY = JobKind(notify_work_if_away, queue="high", timeout=30, result_ttl=60)
MAIL_NOTIFICATION = JobKind(mail_notification, queue="high", attempts=4, backoff=10, backoff_max=300, timeout=60)


def alert_admins_of_failure(job, error: str) -> None:
    """A job that failed for good (no retry left: an exception, a time limit, its process killed)
    is told to every admin in the app, merged per job function while unread; mailed to those who
    want it at most once per kind of job and JOB_ALERT_MAIL_EVERY_SECONDS."""
    try:
        with job_context():
            now = utcnow()
            with write_transaction():
                for admin_id in notifications.admins():
                    notifications.notify(admin_id, "job_failed", f"job:{job.func_name}"[:48], now=now,
                                         params={"job": job.description or job.func_name, "error": error[:300]},
                                         link=notifications.path("admin.operations_page"))
    except Exception:  # noqa: BLE001 - an alert that cannot be stored must not hide the job's failure
        log.exception("could not alert admins of the failure of job %s", job.id)
