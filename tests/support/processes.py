"""Real processes the tests start: gunicorn web servers, the RQ worker, the SMTP sink, the flask CLI.

The fixtures here are registered through the ``tests.support`` plugin; every test that uses one
of ``PROCESS_FIXTURES`` is marked ``slow``.
"""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.context import app_context
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
PROCESS_FIXTURES = frozenset({"web_server", "second_web_server", "rq_worker", "smtp_sink"})


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(**extra) -> dict:
    """The test process's environment (test database, Redis, mail port) plus ``extra``."""
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    """Return once something listens on ``port``; fail if ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


def wait_until_serving(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Return once a page is served: gunicorn's master listens at once, its workers accept only
    once they have loaded the app (seconds on a busy machine, several workers booting together)."""
    import requests

    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before serving {url}")
        try:
            requests.get(url, timeout=max(0.5, deadline - time.monotonic()), allow_redirects=False)
            return
        except requests.RequestException:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


def wait_for_port_closed(port: int, timeout: float = 10.0) -> None:
    """Return once nothing listens on ``port`` any more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except OSError:
            return
        time.sleep(0.05)
    raise TimeoutError(f"something still listens on {port}")


_prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it
_PR_SET_PDEATHSIG = 1


def dies_with_the_tests() -> None:
    """``preexec_fn`` of the servers and workers the tests start: SIGTERM when the test process
    dies, also when it crashes and no finalizer runs (a worker left behind would take the next
    run's jobs on the same Redis database)."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def stop(proc: subprocess.Popen, timeout: float = 8.0, sig: int = signal.SIGTERM) -> None:
    """Signal ``proc``'s process group and wait for it, killing it after ``timeout``."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class WebServer:
    """A real gunicorn (gevent) web process on a free port."""

    def __init__(self, port: int | None = None, workers: int = 1, **env):
        self.env = env
        self.port = port or free_port()
        self.workers = workers
        self.proc: subprocess.Popen | None = None
        self.log = Path(os.environ["SWITCHBOARD_INSTANCE"]).parent / f"web-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "WebServer":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "wsgi:app"],
            cwd=ROOT, env=child_env(PUBLIC_URL=self.url, **self.env), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=dies_with_the_tests,
        )
        wait_for_port(self.port, proc=self.proc)
        wait_until_serving(self.url + "/login", proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, sig=signal.SIGQUIT)  # gunicorn's quick shutdown: tests need no grace

    def kill(self) -> None:
        """Die abruptly, as a crashed server would (sockets drop without a close frame)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            # The worker dies a moment after its master: until then its listening socket still
            # accepts, and a restart's wait_for_port would take it for the new server.
            wait_for_port_closed(self.port)


@pytest.fixture
def web_server(app):
    server = WebServer().start()
    yield server
    server.stop()


@pytest.fixture
def second_web_server(app):
    server = WebServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_sink():
    """A real SMTP server (the mail sink) on the configured port, storing into a Maildir."""
    from app.dev.mailsink import start_sink

    controller = start_sink(os.environ["MAIL_OUTBOX_DIR"], host="127.0.0.1", port=int(os.environ["MAIL_PORT"]))
    yield os.environ["MAIL_OUTBOX_DIR"]
    controller.stop()


@pytest.fixture(scope="session")
def rq_worker(app, smtp_sink):
    """A real RQ worker process on the test Redis and database."""
    log = Path(os.environ["SWITCHBOARD_INSTANCE"]).parent / "worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=child_env(), stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=dies_with_the_tests)
    yield proc
    stop(proc)


def run_job(queue_name: str, func, *args, timeout: float = 20.0):
    """Enqueue a job for the real worker, wait for it, and return its result (fails if it failed)."""
    from app.jobs import get_queue

    with app_context():
        job = get_queue(queue_name).enqueue(func, *args)
        wait_until(lambda: job.get_status(refresh=True) in ("finished", "failed"), timeout=timeout)
        assert job.get_status() == "finished", job.exc_info
        return job.return_value()


def flask_cli_on_sqlite_file(instance, *args) -> None:
    """Run ``flask <args>`` in a subprocess on an SQLite file in ``instance`` (migration tests)."""
    env = dict(os.environ, SWITCHBOARD_INSTANCE=str(instance))
    env.pop("DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


def redis_server(port: int, folder: str, appendonly: bool = False) -> subprocess.Popen:
    """A private redis-server on ``port`` (one a test may stop and start again), answering when
    this returns; with its append-only file in ``folder`` when ``appendonly``."""
    persistence = ["--appendonly", "yes"] if appendonly else []
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             *persistence, "--dir", folder], stdout=subprocess.DEVNULL,
                            start_new_session=True, preexec_fn=dies_with_the_tests)
    wait_until(lambda: redis_answers(port), timeout=10)
    return proc


def redis_answers(port: int) -> bool:
    import redis

    try:
        return redis.Redis(port=port, socket_connect_timeout=0.2).ping()
    except redis.RedisError:
        return False
