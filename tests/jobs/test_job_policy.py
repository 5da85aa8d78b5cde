"""Each kind of job's policy, declared next to it: retries back off exponentially with jitter,
the time limit may be a setting, and a mail's text is never shown to admins."""
import random

from rq.job import Job

from app.jobs import enqueue_email_once
from app.jobs.exports import BUILD_EXPORT
from app.jobs.mail import SEND_EMAIL_ONCE
from app.jobs.policy import JobKind, all_kinds, kind_of, shown_arguments
from app.redis_client import get_redis


def test_retries_back_off_exponentially_each_delay_jittered_between_half_and_all_of_it():
    kind = JobKind(print, attempts=6, backoff=10, backoff_max=100)
    for seed in range(50):
        delays = kind.delays(random.Random(seed))
        assert len(delays) == 5
        for delay, full in zip(delays, (10, 20, 40, 80, 100)):
            assert full / 2 - 1 <= delay <= full
    assert len({tuple(kind.delays(random.Random(seed))) for seed in range(50)}) > 40  # jobs spread apart
    assert JobKind(print).delays() == []  # one attempt: no retry


def test_a_job_enqueued_through_its_kind_carries_its_policy(ctx):
    job = enqueue_email_once("k1", "ada@example.test", "Hello", "text with a secret link", None)
    assert job.origin == "high" and job.timeout == 60
    assert job.retries_left == SEND_EMAIL_ONCE.attempts - 1
    assert len(job.retry_intervals) == SEND_EMAIL_ONCE.attempts - 1
    assert kind_of(job) is SEND_EMAIL_ONCE

    export_job = BUILD_EXPORT.enqueue("no-such-export")
    assert export_job.origin == "low" and export_job.timeout == ctx.config["EXPORT_JOB_TIMEOUT_SECONDS"]


def test_a_mail_jobs_arguments_show_its_recipient_and_subject_never_its_text(ctx):
    job = enqueue_email_once("k2", "ada@example.test", "Reset your password", "https://x/reset/SECRET", "<a>SECRET</a>")
    shown = shown_arguments(Job.fetch(job.id, connection=get_redis()))
    assert "ada@example.test" in shown and "Reset your password" in shown
    assert "SECRET" not in shown


def test_every_enqueued_kind_is_declared_once_with_a_known_queue(ctx):
    kinds = all_kinds()
    assert len({k.name for k in kinds}) == len(kinds)
    assert {k.queue for k in kinds} <= set(ctx.config["RQ_QUEUES"])
    assert {"app.jobs.mail.send_email_once", "app.jobs.exports.build_export",
            "app.jobs.notifications.mail_notification"} <= {k.name for k in kinds}
