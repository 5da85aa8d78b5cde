"""Work given to a moderator who has no page open reaches their notifications through the real
worker; a moderator whose page is open sees it pushed and gets no notification (nor a job)."""
from datetime import datetime, timezone

from rq.job import Job

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.jobs import get_queue
from app.jobs.notifications import NOTIFY_WORK_IF_AWAY
from app.models import Notification
from app.redis_client import get_redis
from app.services import presence, sending
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user, queued_moderator, token
from tests.support.waiting import wait_until


def _first_message_to_a_new_profile():
    with app_context():
        with write_transaction():
            posted = sending.post_client_message(make_user(), make_profile().id, "hi", token(), utcnow())
            return posted.message.conversation.assigned_moderator_id


def _notifications_of(user_id):
    with app_context():
        return [(n.kind, n.link) for n in db.session.query(Notification).filter_by(user_id=user_id)]


def _away_checks_for(moderator_id: int, since) -> int:
    """``notify_work_if_away`` jobs for this moderator enqueued since ``since``, counted once a job
    enqueued now has run: one worker takes a queue in order, so every job enqueued before it has
    ended and sits in the finished or failed registry (kept a while). The time tells them from the
    jobs of earlier tests, whose moderators may have had the same id."""
    with app_context():
        sentinel = NOTIFY_WORK_IF_AWAY.enqueue(0, [], description="sentinel")
        wait_until(lambda: sentinel.get_status(refresh=True) == "finished" or None, timeout=20)
        queue = get_queue("high")
        ids = queue.finished_job_registry.get_job_ids() + queue.failed_job_registry.get_job_ids()
        jobs = [job for job in Job.fetch_many(ids, connection=queue.connection) if job is not None]
        return sum(1 for job in jobs if job.func_name.endswith(".notify_work_if_away") and job.args
                   and job.args[0] == moderator_id and job.enqueued_at.replace(tzinfo=None) >= since)


def test_work_given_while_away_is_a_notification_and_with_a_page_open_is_not(app, rq_worker):
    with app_context():
        now = utcnow()
        since = datetime.now(timezone.utc).replace(tzinfo=None)  # as RQ stamps a job (UTC)
        away, looking = queued_moderator(now).id, queued_moderator(now).id      # online, in the queue
        presence.socket_alive(get_redis(), looking, "open-page", utcnow())   # only this one has a page open
    assert _first_message_to_a_new_profile() == away
    [(kind, link)] = wait_until(lambda: _notifications_of(away) or None, timeout=20)
    assert kind == "work_assigned" and link.startswith("/moderateur/")

    assert _away_checks_for(away, since) == 1
    assert _first_message_to_a_new_profile() == looking                # the least loaded now
    assert _away_checks_for(looking, since) == 0                       # no job for the one looking
    assert _notifications_of(looking) == []
