"""Notification rounds end to end: the jobs record rounds, the real RQ worker sends the e-mails,
the real SMTP sink receives them — with a chosen clock, run twice at once, and through the real
rq-scheduler process."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from rq import Queue
from rq.registry import StartedJobRegistry
from rq_scheduler import Scheduler
from sqlalchemy import select, update

from app.dev import outbox
from app.database import write_transaction
from app.extensions import db
from app.jobs.rounds import check_notification_round, mark_round_messages_notified, process_pending_messages
from app.models import NotificationRound, PendingClientMessage
from app.clock import utcnow
from app.redis_client import get_redis
from tests.support.processes import ROOT, child_env, dies_with_the_tests, stop
from tests.support.rounds import NOW, answer_all, moderators_with_loads, post_waiting, settle
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def waiting_all_notified() -> bool:
    db.session.rollback()  # a fresh read: the worker wrote
    return all(db.session.scalars(select(PendingClientMessage.is_notified)
                                  .where(PendingClientMessage.is_processed.is_(False))))


def recipients(mails) -> list[str]:
    return sorted(r for m in mails for r in m["recipients"])


def at(delta: timedelta = timedelta(0)) -> str:
    return (NOW + delta).isoformat()


def test_three_least_loaded_then_the_next_three_then_nothing_once_answered(ctx, rq_worker, smtp_sink):
    moderators = moderators_with_loads([3, 0, 5, 1, 4, 2], NOW - timedelta(minutes=1))
    by_load = sorted(moderators, key=lambda m: int(m.display_name.split()[1]))
    emails = [m.email for m in moderators]
    conversations = post_waiting(10, NOW - timedelta(minutes=10))

    first = process_pending_messages(at())
    assert (first["action"], first["cycle"], first["round_number"]) == ("round", 1, 1)
    wait_until(waiting_all_notified, timeout=20)                            # marked by a job of its own
    assert mark_round_messages_notified(first["round_id"]) == 0             # again: nothing more to mark
    mails = settle(smtp_sink, emails, 3)
    assert recipients(mails) == sorted(m.email for m in by_load[:3])       # loads 0, 1, 2
    mail = mails[0]
    assert mail["subject"] == "10 client messages are waiting for an answer"
    full = outbox.get_mail(smtp_sink, mail["key"])
    assert "10 client messages are waiting for an answer on Switchboard." in full["text"]
    assert "The oldest has been waiting for 10 minutes." in full["text"]
    assert "/login?next=/moderateur/" in full["text"]
    assert full["html"] and "Open the workspace" in full["html"] and "/login?next=/moderateur/" in full["html"]

    assert check_notification_round(at(timedelta(minutes=20)))["action"] == "not_due"
    second = check_notification_round(at(timedelta(minutes=30)))
    assert (second["action"], second["round_number"]) == ("round", 2)
    mails = settle(smtp_sink, emails, 6)
    assert recipients(mails) == sorted(emails)                             # the next three, and nobody twice

    answer_all(conversations, by_load[0], NOW + timedelta(minutes=40))
    db.session.remove()
    assert not db.session.scalars(select(PendingClientMessage).where(PendingClientMessage.is_processed.is_(False))).all()
    assert check_notification_round(at(timedelta(minutes=41)))["action"] == "cycle_ended"
    assert process_pending_messages(at(timedelta(minutes=50)))["action"] == "nothing_pending"
    assert check_notification_round(at(timedelta(minutes=70)))["action"] == "no_open_cycle"
    assert recipients(settle(smtp_sink, emails, 6)) == sorted(emails)        # still six: nothing more was sent


def run_at_once(app, func, *args, copies: int = 2) -> list:
    """``copies`` threads call ``func`` at the same instant, each in its own app context (own session)."""
    barrier = threading.Barrier(copies)
    results, errors = [], []

    def one():
        with app.app_context():
            barrier.wait()
            try:
                results.append(func(*args))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_two_runs_at_once_send_each_mail_once(ctx, rq_worker, smtp_sink):
    moderators = moderators_with_loads([0, 1, 2, 3, 4, 5], NOW - timedelta(minutes=1))
    post_waiting(8, NOW - timedelta(minutes=10))
    emails = [m.email for m in moderators]
    db.session.remove()

    outcomes = run_at_once(ctx, process_pending_messages, at(), copies=3)
    assert sorted(o["action"] for o in outcomes) == ["cycle_open", "cycle_open", "round"]
    first = settle(smtp_sink, emails, 3)
    assert recipients(first) == sorted(emails[:3])

    outcomes = run_at_once(ctx, check_notification_round, at(timedelta(minutes=31)), copies=3)
    assert sorted(o["action"] for o in outcomes) == ["not_due", "not_due", "round"]
    mails = settle(smtp_sink, emails, 6)
    assert recipients(mails) == sorted(emails)                             # six mails, one per moderator
    assert db.session.scalars(select(NotificationRound.round_number).order_by(NotificationRound.id)).all() == [1, 2]


def test_the_mail_speaks_the_moderators_language(ctx, rq_worker, smtp_sink):
    (french,) = moderators_with_loads([0], NOW - timedelta(minutes=1), locale="fr")
    post_waiting(2, NOW - timedelta(minutes=7))
    assert process_pending_messages(at())["action"] == "round"
    (mail,) = settle(smtp_sink, [french.email], 1)
    full = outbox.get_mail(smtp_sink, mail["key"])
    assert f"Bonjour {french.display_name}," in full["text"]
    assert 'lang="fr"' in full["html"]


def test_the_real_scheduler_runs_the_pass_and_the_check(ctx, rq_worker, smtp_sink):
    """rq-scheduler (``worker.py --scheduler``) enqueues the periodic jobs, the worker runs them."""
    now = utcnow()
    moderators = moderators_with_loads([0, 1, 2, 3], now - timedelta(minutes=1))
    conversations = post_waiting(3, now - timedelta(minutes=10))
    emails = [m.email for m in moderators]
    others_rarely = {name: 3600 for name in ("ORPHAN_SWEEP_SECONDS", "PRESENCE_SWEEP_SECONDS", "LOCK_CLEAN_SECONDS",
                                             "MONITORING_SECONDS", "BALANCE_SECONDS", "INACTIVITY_CHECK_SECONDS",
                                             "PRESENCE_ACTIVITY_CHECK_SECONDS")}
    log = open(Path(os.environ["SWITCHBOARD_INSTANCE"]).parent / "scheduler.log", "ab")
    scheduler = subprocess.Popen([sys.executable, "worker.py", "--scheduler"], cwd=ROOT, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=dies_with_the_tests,
                                 env=child_env(ROUNDS_PROCESS_SECONDS=1, ROUNDS_CHECK_SECONDS=1, **others_rarely))
    try:
        assert recipients(settle(smtp_sink, emails, 3)) == sorted(emails[:3])
        # Thirty minutes pass (moved into the past rather than waited for): the check sends round 2.
        with write_transaction():
            round_ = db.session.scalar(select(NotificationRound))
            db.session.execute(update(NotificationRound).values(sent_at=round_.sent_at - timedelta(minutes=31)))
        assert recipients(settle(smtp_sink, emails, 4)) == sorted(emails)
        answer_all(conversations, moderators[0], utcnow())
        db.session.remove()

        def cycle_ended():
            db.session.rollback()
            return db.session.scalar(select(NotificationRound.cycle_ended_at).limit(1)) is not None

        wait_until(cycle_ended, timeout=20)
    finally:
        stop(scheduler)
        _forget_periodic_jobs()
    assert recipients(settle(smtp_sink, emails, 4)) == sorted(emails)


def _forget_periodic_jobs() -> None:
    """The scheduler process is gone; its schedule and any run it already queued go too, so that
    no periodic job reaches the shared worker during later tests."""
    r = get_redis()
    scheduler = Scheduler(connection=r)
    for job in scheduler.get_jobs():
        if job.id.startswith("switchboard-"):
            scheduler.cancel(job)
            job.delete()
    for name in ("high", "default", "low"):
        queue = Queue(name, connection=r)
        for job_id in queue.job_ids:
            if job_id.startswith("switchboard-"):
                queue.remove(job_id)
    wait_until(lambda: not any(job_id.startswith("switchboard-") for name in ("high", "default", "low")
                               for job_id in StartedJobRegistry(name, connection=r).get_job_ids()), timeout=30)
