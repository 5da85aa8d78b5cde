"""The periodic jobs: declared once, reconciled without duplicates, run by the real worker."""
from datetime import datetime

from rq_scheduler import Scheduler
from sqlalchemy import select

from app.database import write_transaction
from app.extensions import db
from app.jobs.assignment import assign_orphan_conversations
from app.jobs.schedule import PERIODIC_JOBS, reconcile
from app.models import Conversation, Role
from app.redis_client import get_redis
from app.services import sending
from tests.support.factories import make_profile, make_user, token
from tests.support.processes import run_job


def test_reconcile_twice_keeps_one_job_per_declaration(ctx):
    scheduler = Scheduler(connection=get_redis())
    reconcile(scheduler, ctx)
    reconcile(scheduler, ctx)
    ids = [job.id for job in scheduler.get_jobs() if job.id.startswith("switchboard-")]
    assert sorted(ids) == sorted(p.id for p in PERIODIC_JOBS)
    for job in scheduler.get_jobs():
        if job.id.startswith("switchboard-"):
            scheduler.cancel(job)


def test_orphan_sweep_job_assigns_waiting_conversations_in_the_worker(ctx, rq_worker):
    client, profile = make_user(), make_profile()
    with write_transaction():
        sending.post_client_message(client, profile.id, "anyone?", token(), datetime(2026, 11, 23, 12, 0))
    moderator = make_user(Role.MODERATOR, online=True)

    assert run_job("default", assign_orphan_conversations) == 1
    db.session.rollback()  # end the read snapshot: the worker wrote since
    assert db.session.scalar(select(Conversation.assigned_moderator_id)) == moderator.id
