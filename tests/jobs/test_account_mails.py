"""Activation and reset mails through the real worker and SMTP sink: each arrives once (its job
run again sends nothing more), in the account's language."""
import re
import time

from app.dev import outbox
from app.jobs.mail import send_email_once
from tests.support.factories import make_user
from tests.support.http import csrf_from
from tests.support.processes import run_job
from tests.support.rounds import settle


def _queued_job_args(client_action):
    """Run ``client_action`` and return the args of the mail job it queued (taken as the worker sees it)."""
    from rq.registry import FinishedJobRegistry

    from app.jobs import get_queue
    from tests.support.context import app_context

    with app_context():
        before = set(FinishedJobRegistry(queue=get_queue("high")).get_job_ids())
    client_action()
    with app_context():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            finished = set(FinishedJobRegistry(queue=get_queue("high")).get_job_ids()) - before
            if finished:
                return get_queue("high").fetch_job(finished.pop()).args
            time.sleep(0.1)
    raise AssertionError("no mail job finished")


def test_a_reset_mail_arrives_once_in_the_users_language(app, client, rq_worker, smtp_sink):
    make_user(email="oubli@example.test", display_name="Margaux", locale="fr")

    def ask():
        csrf = csrf_from(client.get("/password/forgot").get_data(as_text=True))
        assert client.post("/password/forgot", data={"email": "oubli@example.test", "csrf_token": csrf}
                           ).status_code == 200

    args = _queued_job_args(ask)
    assert args[0].startswith("reset:")
    assert run_job("high", send_email_once, *args) is None            # the job run again: nothing sent
    with app.app_context():
        [mail] = settle(smtp_sink, ["oubli@example.test"], 1)
    text = outbox.get_mail(smtp_sink, mail["key"])["text"]
    assert text.startswith("Bonjour Margaux,")                         # French, the account's language
    assert re.search(r"/password/reset/\S+", text)


def test_an_activation_mail_arrives_once_and_a_resend_is_a_new_one(app, client, rq_worker, smtp_sink):
    def sign_up():
        csrf = csrf_from(client.get("/signup").get_data(as_text=True))
        client.post("/signup", data={"csrf_token": csrf, "display_name": "Jonas", "email": "jonas@example.test",
                                     "password": "long-enough-1", "locale": "de"})

    args = _queued_job_args(sign_up)
    assert args[0].startswith("activation:")
    assert run_job("high", send_email_once, *args) is None
    with app.app_context():
        [mail] = settle(smtp_sink, ["jonas@example.test"], 1)
    assert outbox.get_mail(smtp_sink, mail["key"])["text"].startswith("Hallo Jonas,")   # German

    time.sleep(1.1)  # a new link: signed a second later
    csrf = csrf_from(client.get("/activation").get_data(as_text=True))
    assert client.post("/activation/resend", data={"csrf_token": csrf}).status_code == 302
    with app.app_context():
        assert len(settle(smtp_sink, ["jonas@example.test"], 2)) == 2
