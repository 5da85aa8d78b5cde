"""The scheduled end of bans and mutes, in the real worker: ended once, one log line each."""
from datetime import timedelta

import pytest

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.jobs.sanctions import end_expired_sanctions
from app.jobs.schedule import PERIODIC_JOBS
from app.models import ModerationAction, Role, Sanction, User
from app.services.moderation import sanctions
from tests.support.factories import make_user
from tests.support.processes import run_job


@pytest.mark.slow
def test_the_job_ends_sanctions_whose_time_is_up_once(ctx, rq_worker):
    admin, muted, banned, kept = make_user(Role.ADMIN), make_user(), make_user(), make_user()
    now = utcnow()
    with write_transaction():
        actor = db.session.get(User, admin.id)
        for client, kind in ((muted, "mute"), (banned, "ban")):
            sanctions.impose(actor, client.id, kind, "spam", now - timedelta(seconds=1), now - timedelta(hours=1))
        sanctions.impose(actor, kept.id, "ban", "spam", None, now - timedelta(hours=1))
    db.session.remove()

    assert run_job("default", end_expired_sanctions) == 2
    assert run_job("default", end_expired_sanctions) == 0  # idempotent
    assert sanctions.running(muted.id, utcnow()) == {} and sanctions.running(banned.id, utcnow()) == {}
    assert set(sanctions.running(kept.id, utcnow())) == {"ban"}
    ended = db.session.query(ModerationAction).filter_by(action="sanction_ended").all()
    assert sorted(a.subject_id for a in ended) == sorted([muted.id, banned.id])
    assert db.session.query(Sanction).filter(Sanction.lifted_at.is_(None)).count() == 1


def test_the_job_is_in_the_one_list_with_its_setting():
    listed = {p.id: p for p in PERIODIC_JOBS}["switchboard-end-sanctions"]
    assert listed.func is end_expired_sanctions and listed.interval_setting == "SANCTION_END_SECONDS"
