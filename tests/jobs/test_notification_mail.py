"""A notification its user wants mailed goes through a real worker to a real SMTP server, once, in
the user's language: the job run again, or the mail job run again with its key, sends nothing more."""
from datetime import datetime

from app.database import write_transaction
from app.dev import outbox
from app.jobs.mail import send_email_once
from app.jobs.notifications import mail_notification
from app.services import notifications
from tests.support.context import app_context
from tests.support.factories import make_user
from tests.support.waiting import wait_until

NOW = datetime(2026, 12, 6, 12, 0, 0)


def mails_to(sink, address):
    return [m for m in outbox.list_mails(sink) if address in m["recipients"]]


def test_a_notification_is_mailed_once_in_its_users_language(app, rq_worker, smtp_sink):
    french = make_user(email="camille@example.test", locale="fr", display_name="Camille")
    with app_context():
        with write_transaction():
            row = notifications.notify(french.id, "reply", "conversation:5", now=NOW, params={"profile": "Hanna"},
                                       link="/profiles/1")
        notification_id = row.id
    [mail] = wait_until(lambda: mails_to(smtp_sink, "camille@example.test") or None, timeout=20)
    full = outbox.get_mail(smtp_sink, mail["key"])
    assert "Hanna" in mail["subject"] and "replied to you" not in mail["subject"]  # French, not English
    assert "Camille" in full["text"] and "/profiles/1" in full["text"]

    with app_context():
        assert mail_notification(notification_id) is True   # the notification's job again: the same key
        send_email_once(f"notification:{notification_id}", "camille@example.test", "again", "again")
        with write_transaction():  # merged while unread: no new mail either
            notifications.notify(french.id, "reply", "conversation:5", now=NOW, params={"profile": "Hanna"})
    wait_until(lambda: rq_worker_idle(), timeout=20)
    assert len(mails_to(smtp_sink, "camille@example.test")) == 1


def test_kinds_the_user_did_not_choose_are_not_mailed(app, rq_worker, smtp_sink):
    user = make_user(email="quiet@example.test")
    with app_context():
        with write_transaction():
            notifications.set_mail_preferences(app_user(user.id), set())
            notifications.notify(user.id, "reply", "conversation:6", now=NOW, params={"profile": "Hanna"})
            notifications.notify(user.id, "export_ready", "export:1", now=NOW, params={"profile": "Hanna",
                                                                                    "format": "csv"})
    wait_until(lambda: rq_worker_idle(), timeout=20)
    assert mails_to(smtp_sink, "quiet@example.test") == []


def test_a_reply_read_before_its_mail_is_due_is_not_mailed(app, rq_worker, smtp_sink):
    user = make_user(email="reader@example.test")
    with app_context():
        with write_transaction():
            row = notifications.notify(user.id, "reply", "conversation:7", now=NOW, params={"profile": "Hanna"})
        with write_transaction():  # read at once (the client opened the conversation)
            notifications.mark_read(app_user(user.id), row.id, NOW)
    wait_until(lambda: rq_worker_idle(), timeout=20)
    assert mails_to(smtp_sink, "reader@example.test") == []


def app_user(user_id):
    from app.extensions import db
    from app.models import User

    return db.session.get(User, user_id)


def rq_worker_idle() -> bool:
    from app.jobs import get_queue

    with app_context():
        queues = [get_queue(name) for name in ("high", "default")]
        return all(q.count == 0 and q.started_job_registry.count == 0 and q.scheduled_job_registry.count == 0
                   for q in queues)
