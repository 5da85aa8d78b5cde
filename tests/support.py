"""Factories, a login helper and real-process fixtures (worker, web servers, SMTP sink)."""
from __future__ import annotations

import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from contextlib import contextmanager

import pytest
import requests
from flask import has_app_context

from app.database import write_transaction
from app.extensions import db
from app.models import Role
from app.services import profiles, users

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "test-password-1"


# -- factories ------------------------------------------------------------------------
# HTTP tests must not hold an app context while the test client runs (Flask would share `g`,
# and with it the logged-in user, between requests), so factories push their own when needed.
TEST_APP = None


@contextmanager
def app_context():
    """Yields True when it pushed a context of its own (objects are then detached on exit)."""
    if has_app_context():
        yield False
        return
    with TEST_APP.app_context():
        try:
            yield True
        finally:
            db.session.remove()


def make_user(role: Role = Role.CLIENT, email: str | None = None, online: bool = False, **extra):
    email = email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.test"
    extra.setdefault("locale", "en")  # assertions read English text
    with app_context() as owned:
        with write_transaction():
            user = users.create_user(email=email, password=PASSWORD, role=role,
                                     display_name=extra.pop("display_name", email.split("@")[0]), **extra)
            user.is_online = online
            if online and role == Role.MODERATOR:
                from app.clock import utcnow
                from app.services import moderator_queue

                db.session.flush()
                moderator_queue.join(user.id, utcnow())
        db.session.refresh(user)
        if owned:
            db.session.expunge(user)
    return user


@contextmanager
def recorded_statements(engine):
    """The SQL run on ``engine`` inside the block (a list, filled as it runs)."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn, _cursor, statement, *_rest):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def make_profile(name: str = "Camille", age: int = 29):
    with app_context() as owned:
        with write_transaction():
            profile = profiles.create_profile(name=name, age=age, city="Paris", bio="Bio")
        db.session.refresh(profile)
        if owned:
            db.session.expunge(profile)
    return profile


def count(model, **filters) -> int:
    with app_context():
        return db.session.query(model).filter_by(**filters).count()


def token() -> str:
    return uuid.uuid4().hex


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in page"
    return match.group(1) or match.group(2)


def login(client, email: str, password: str = PASSWORD):
    """Log a Flask test client (or a requests.Session with base_url) in; returns the CSRF token."""
    page = client.get("/login")
    html = page.get_data(as_text=True) if hasattr(page, "get_data") else page.text
    csrf = csrf_from(html)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf})
    assert response.status_code in (302, 303, 200), response.status_code
    home = client.get("/", follow_redirects=True) if hasattr(page, "get_data") else client.get("/", allow_redirects=True)
    html = home.get_data(as_text=True) if hasattr(home, "get_data") else home.text
    return csrf_from(html)


class LiveSession(requests.Session):
    """requests.Session with a base URL, for real servers."""

    def __init__(self, base_url: str):
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", 10)
        return super().request(method, url, *args, **kwargs)


# -- processes --------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra) -> dict:
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
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


def wait_for_port_closed(port: int, timeout: float = 10.0) -> None:
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
            cwd=ROOT, env=_env(PUBLIC_URL=self.url, **self.env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=dies_with_the_tests,
        )
        wait_for_port(self.port, proc=self.proc)
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
    proc = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=_env(), stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=dies_with_the_tests)
    yield proc
    stop(proc)


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def first_published(pubsub, needle: str = "", timeout: float = 5.0) -> str:
    """The first fragment published on ``pubsub``'s channels that contains ``needle`` (subscribed
    with ``ignore_subscribe_messages``)."""
    from app.realtime.hub import fragment_of

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message is not None and message["type"] == "message" and needle in fragment_of(message["data"]):
            return fragment_of(message["data"])
    raise AssertionError(f"nothing containing {needle!r} was published")


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
