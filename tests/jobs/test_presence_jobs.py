"""The activity pass in the real worker: five minutes without any sign is offline."""
from datetime import timedelta

from app.database import write_transaction
from app.extensions import db
from app.jobs.presence import calculate_moderator_activity
from app.models import Role, User
from app.clock import utcnow
from app.services import presence
from tests.support.factories import make_user
from tests.support.processes import run_job


def test_the_activity_job_marks_moderators_quiet_for_five_minutes_offline(ctx, rq_worker):
    now = utcnow()
    quiet = make_user(Role.MODERATOR)
    busy = make_user(Role.MODERATOR)
    with write_transaction():
        presence.heartbeat(db.session.get(User, quiet.id), now - timedelta(minutes=6))
        presence.heartbeat(db.session.get(User, busy.id), now - timedelta(minutes=6))
        db.session.get(User, busy.id).last_activity_at = now - timedelta(minutes=1)
    db.session.remove()

    assert run_job("default", calculate_moderator_activity, now.isoformat()) == 1
    assert run_job("default", calculate_moderator_activity, now.isoformat()) == 0       # idempotent
    assert db.session.get(User, quiet.id).is_online is False
    assert db.session.get(User, busy.id).is_online is True
