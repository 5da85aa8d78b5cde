"""A job that failed for good is told to every admin in the app, merged per job function while
unread; its mail goes to an admin at most once per kind of job and JOB_ALERT_MAIL_EVERY_SECONDS.
(The worker calls this for each final failure: tests/jobs/test_job_outcomes.py.)"""
from app.jobs import get_queue
from app.jobs.notifications import alert_admins_of_failure
from app.models import Notification, Role
from app.extensions import db
from app.redis_client import get_redis
from app.services import notifications
from tests.support.factories import make_user


def failing_job():
    return get_queue("low").enqueue("app.jobs.exports.build_export", "no-such-export",
                                    description="export no-such-export")


def test_admins_hear_of_a_job_that_failed_for_good_once_per_job_function(ctx):
    admins = [make_user(Role.ADMIN), make_user(Role.ADMIN)]
    moderator = make_user(Role.MODERATOR)
    for _ in range(2):
        alert_admins_of_failure(failing_job(), "RuntimeError: disk full")
    rows = db.session.scalars(db.select(Notification).order_by(Notification.user_id)).all()
    assert [(n.user_id, n.kind, n.count) for n in rows] == [(a.id, "job_failed", 2) for a in admins]
    assert rows[0].params["error"] == "RuntimeError: disk full" and rows[0].params["job"] == "export no-such-export"
    assert moderator.id not in {n.user_id for n in rows}


def test_an_alerts_mail_is_claimed_once_per_kind_of_job_and_period(ctx):
    r = get_redis()
    assert notifications.claim_alert_mail(r, 1, "job:app.jobs.mail.send_email", 3600)
    assert not notifications.claim_alert_mail(r, 1, "job:app.jobs.mail.send_email", 3600)
    assert notifications.claim_alert_mail(r, 2, "job:app.jobs.mail.send_email", 3600)  # another admin
    assert notifications.claim_alert_mail(r, 1, "job:app.jobs.exports.build_export", 3600)  # another kind


def test_a_second_alert_of_a_kind_of_job_within_the_period_is_not_mailed(ctx):
    from app.clock import utcnow
    from app.database import write_transaction
    from app.jobs.notifications import mail_notification
    from app.models import User

    admin = make_user(Role.ADMIN)
    alert_admins_of_failure(failing_job(), "boom")
    first = db.session.scalars(db.select(Notification)).one()
    assert mail_notification(first.id) is True
    with write_transaction():
        notifications.mark_read(db.session.get(User, admin.id), first.id, utcnow())
    alert_admins_of_failure(failing_job(), "boom again")  # read: a new notification, not a merge
    second = db.session.scalars(db.select(Notification).where(Notification.id != first.id)).one()
    assert mail_notification(second.id) is False  # returned before enqueuing its mail
