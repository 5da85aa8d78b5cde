"""A worker killed with SIGKILL in the middle of a mail job (its SMTP conversation under way):
the job is found abandoned, retried, and the mail arrives exactly once; the same mail enqueued
again sends nothing more. The worker runs on a queue of its own, to an SMTP server of the test's
that holds the first delivery until the kill. A claim is taken over at once here
(MAIL_CLAIM_STALE_SECONDS=0): the wait for a stale claim is tested on its own."""
import asyncio
import subprocess
import sys
import threading
import time

import psutil
import pytest
from aiosmtpd.controller import Controller
from rq import Retry

from app.jobs import get_queue
from app.jobs.mail import send_email_once
from app.models import MailDelivery
from app.extensions import db
from tests.support.context import app_context
from tests.support.processes import ROOT, child_env, dies_with_the_tests, free_port, stop
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

QUEUE = "sb-test-kill"


class HoldFirst:
    """Receives mail; the first DATA waits until released (its sender is killed meanwhile)."""

    def __init__(self):
        self.delivered: list[str] = []
        self.first_arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if not self.first_arrived.is_set():
            self.first_arrived.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 sender went away"
        self.delivered.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


def start_worker(port: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "worker.py", "--queues", QUEUE], cwd=ROOT,
                            env=child_env(MAIL_PORT=port, MAIL_CLAIM_STALE_SECONDS=0),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            preexec_fn=dies_with_the_tests)


def kill_with_its_work_horse(worker: subprocess.Popen) -> None:
    """SIGKILL to the worker and the work horse running the job (RQ puts it in a process group of its own)."""
    processes = [psutil.Process(worker.pid), *psutil.Process(worker.pid).children(recursive=True)]
    for process in processes:
        process.kill()
    psutil.wait_procs(processes, timeout=10)
    worker.wait()


def enqueue(key: str):
    with app_context():
        return get_queue(QUEUE).enqueue(send_email_once, key, "ada@example.test", "Once", "Only once, please.",
                                        retry=Retry(max=3, interval=0), job_timeout=30)


def test_a_mail_job_whose_worker_was_killed_mid_send_is_retried_and_the_mail_arrives_once(app):
    handler, port = HoldFirst(), free_port()
    smtp = Controller(handler, hostname="127.0.0.1", port=port)
    smtp.start()
    worker = start_worker(port)
    try:
        job = enqueue("kill-test:1")
        assert handler.first_arrived.wait(30), "the worker never started sending"
        kill_with_its_work_horse(worker)  # mid-SMTP, as when the machine goes down
        handler.release.set()
        with app_context():
            assert job.get_status(refresh=True) == "started"  # nobody will finish it
            registry = get_queue(QUEUE).started_job_registry
            registry.cleanup(timestamp=time.time() + 3600)  # what maintenance does once its heartbeat lapsed
            assert job.get_status(refresh=True) in ("scheduled", "queued")
            assert db.session.get(MailDelivery, "kill-test:1").sent_at is None  # claimed, never sent

        worker = start_worker(port)
        wait_until(lambda: len(handler.delivered) == 1 and job.get_status(refresh=True) == "finished", timeout=40)

        again = enqueue("kill-test:1")  # the same mail enqueued twice
        wait_until(lambda: again.get_status(refresh=True) == "finished", timeout=20)
        time.sleep(0.5)
        assert len(handler.delivered) == 1 and "Only once, please." in handler.delivered[0]
        with app_context():
            assert db.session.get(MailDelivery, "kill-test:1").sent_at is not None
    finally:
        stop(worker)
        smtp.stop()
