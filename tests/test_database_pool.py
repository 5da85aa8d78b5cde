"""The web process's PostgreSQL pool under more concurrent requests than it has connections:
they wait for one (the pool never grows: no backend opened per request), and those that wait
past the pool's timeout get a 503 in the user's language."""
import os
import threading
import time
import uuid

import pytest
from sqlalchemy import create_engine, event, text

from app.extensions import db

from tests.support.factories import make_user
from tests.support.http import LiveSession, login
from tests.support.processes import WebServer

POOL = 3


def _postgresql_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgresql", "postgres")):
        pytest.skip("the pool settings are PostgreSQL's")
    return url


@pytest.mark.slow
def test_concurrent_requests_wait_for_the_pools_connections_and_never_open_more(app):
    url = _postgresql_url()
    name = f"sb-pool-{uuid.uuid4().hex[:8]}"  # the web process's backends, told apart from ours
    server = WebServer(DATABASE_URL=f"{url}{'&' if '?' in url else '?'}application_name={name}",
                       DB_POOL_SIZE=POOL, DB_POOL_TIMEOUT_SECONDS=2).start()
    probe = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=None)
    try:
        user = make_user(locale="de")
        session = LiveSession(server.url)
        login(session, user.email)

        def backends() -> int:
            with probe.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"),
                                    {"n": name}).scalar()

        answers = []

        def get_page():
            response = session.get("/profiles", headers={"Accept-Language": "fr"}, timeout=30)
            answers.append((response.status_code, response.headers.get("Retry-After"), response.text))

        most = 0
        with probe.connect() as blocker:
            # Every request's first statement (loading the logged-in user) waits behind this lock,
            # holding its pooled connection: the pool is full for as long as the lock is held.
            blocker.execute(text("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"))
            threads = [threading.Thread(target=get_page) for _ in range(4 * POOL)]
            for thread in threads:
                thread.start()
            held_until = time.monotonic() + 3.5  # past the pool's 2 s timeout
            while time.monotonic() < held_until:
                most = max(most, backends())
                time.sleep(0.05)
            blocker.commit()  # releases the lock
        for thread in threads:
            thread.join(30)
        most = max(most, backends())
    finally:
        server.stop()
        probe.dispose()

    statuses = sorted(status for status, _, _ in answers)
    assert most == POOL, f"{most} backends for a pool of {POOL}"
    assert statuses == [200] * POOL + [503] * (3 * POOL), statuses
    refused = [(retry, html) for status, retry, html in answers if status == 503]
    assert all(retry == "5" and "Switchboard ist gerade sehr ausgelastet" in html for retry, html in refused)


def test_a_second_burst_as_large_as_the_pool_opens_no_connection(app):
    """A connection returned beyond the pool would be closed, and the next burst would open it
    again: a new backend, with its catalog caches and prepared statements to build again."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite opens no server backend")
        size = app.config["DB_POOL_SIZE"]
        assert size > 5  # more than SQLAlchemy's default, which a busy web process outgrows
        opened = []

        def counted(*_):
            opened.append(1)

        event.listen(engine, "connect", counted)
        try:
            for burst in (1, 2):
                connections = [engine.connect() for _ in range(size)]
                for connection in connections:
                    connection.exec_driver_sql("SELECT 1")
                for connection in connections:
                    connection.close()
                if burst == 1:
                    first = len(opened)
            assert len(opened) == first  # the second burst found them all kept
        finally:
            event.remove(engine, "connect", counted)
