"""A mail job that finds its key claimed by another run which has not sent it (sending still, or
killed) fails so that its retry looks again; one that finds it sent does nothing."""
from datetime import timedelta

import pytest

from app.clock import utcnow
from app.database import write_transaction
from app.jobs.mail import ClaimedElsewhere, send_email_once
from app.services import deliveries


def test_a_fresh_claim_of_another_run_makes_the_job_fail_for_a_retry_and_a_sent_mail_is_not_sent_again(ctx):
    with write_transaction():
        assert deliveries.claim("m:1", "ada@example.test", utcnow())
    with pytest.raises(ClaimedElsewhere):
        send_email_once("m:1", "ada@example.test", "Hi", "text")  # no SMTP server here: it never tried

    with write_transaction():
        deliveries.sent("m:1", utcnow())
    assert send_email_once("m:1", "ada@example.test", "Hi", "text") is None


def test_a_stale_claim_is_taken_over(ctx):
    with write_transaction():
        assert deliveries.claim("m:2", "ada@example.test", utcnow() - timedelta(hours=1))
    with write_transaction():
        assert deliveries.claim("m:2", "ada@example.test", utcnow(), timedelta(seconds=180))
