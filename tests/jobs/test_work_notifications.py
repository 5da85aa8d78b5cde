"""Work given to a moderator who has no page open reaches their notifications through the real
worker; a moderator whose page is open sees it pushed and gets no notification (nor a job)."""
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


def _jobs_run_after_one_enqueued_now() -> int:
    """Jobs the worker ran on the queue of these jobs, counted once a job enqueued now has run (one
    worker takes a queue in order: every job enqueued before it has run too)."""
    with app_context():
        sentinel = NOTIFY_WORK_IF_AWAY.enqueue(0, [], description="sentinel")
        wait_until(lambda: sentinel.get_status(refresh=True) == "finished" or None, timeout=20)
        queue = get_queue("high")
        return len(queue.finished_job_registry) + len(queue.failed_job_registry)


def test_work_given_while_away_is_a_notification_and_with_a_page_open_is_not(app, rq_worker):
    with app_context():
        now = utcnow()
        away, looking = queued_moderator(now).id, queued_moderator(now).id      # online, in the queue
        presence.socket_alive(get_redis(), looking, "open-page", utcnow())   # only this one has a page open
    assert _first_message_to_a_new_profile() == away
    [(kind, link)] = wait_until(lambda: _notifications_of(away) or None, timeout=20)
    assert kind == "work_assigned" and link.startswith("/moderateur/")

    jobs_before = _jobs_run_after_one_enqueued_now()
    assert _first_message_to_a_new_profile() == looking                # the least loaded now
    assert _jobs_run_after_one_enqueued_now() == jobs_before + 1       # the sentinel only: no job for them
    assert _notifications_of(looking) == []
