"""No database connection to be had (the pool stayed full for its whole timeout): a clear 503
with Retry-After, in the user's language, rendered without the database."""
import pytest

from app import create_app
from app.config import TestConfig
from app.extensions import db
from tests.support.factories import make_profile, make_user
from tests.support.http import login, send

GERMAN_BUSY = "Switchboard ist gerade sehr ausgelastet"


class OneConnection(TestConfig):
    """A pool of one connection and a short wait: the DB_POOL_* settings on PostgreSQL; SQLite
    keeps SQLAlchemy's pool, sized here through the engine options."""
    DB_POOL_SIZE = 1
    DB_MAX_OVERFLOW = 0
    DB_POOL_TIMEOUT_SECONDS = 1
    if TestConfig.SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
        SQLALCHEMY_ENGINE_OPTIONS = {**TestConfig.SQLALCHEMY_ENGINE_OPTIONS,
                                     "pool_size": 1, "max_overflow": 0, "pool_timeout": 1}


@pytest.fixture
def small_pool(app):
    small = create_app(OneConnection)
    yield small
    with small.app_context():
        db.engine.dispose()


def test_a_full_pool_gets_a_503_in_the_users_language_and_the_pool_serves_again_once_freed(small_pool):
    user, profile = make_user(locale="de"), make_profile()
    client = small_pool.test_client()
    csrf = login(client, user.email)
    with small_pool.app_context():
        held = db.engine.connect()  # the pool's only connection, as a long request would hold it
        held.exec_driver_sql("SELECT 1")
        try:
            page = client.get("/profiles", headers={"Accept-Language": "fr"})
            fragment = send(client, csrf, profile.id, "hallo")  # htmx: an alert for the form's error area
        finally:
            held.close()
    html = page.get_data(as_text=True)
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert GERMAN_BUSY in html and '<html lang="de">' in html  # the session's language, not the browser's
    assert fragment.status_code == 503 and fragment.headers["Retry-After"] == "5"
    assert fragment.headers["HX-Retarget"] == "#send-error" and GERMAN_BUSY in fragment.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)

    assert client.get("/profiles").status_code == 200  # the connection is back: nothing stayed broken
    assert send(client, csrf, profile.id, "hallo").status_code == 200


def test_without_a_session_the_503_speaks_the_browsers_language(small_pool):
    client = small_pool.test_client()
    with small_pool.app_context():
        held = db.engine.connect()
        held.exec_driver_sql("SELECT 1")
        try:
            page = client.post("/login", data={"email": "x@example.test", "password": "y"},
                               headers={"Accept-Language": "es"})
        finally:
            held.close()
    assert page.status_code in (400, 503)
    if page.status_code == 503:  # the CSRF check comes first where it does not need the database
        assert "Switchboard está muy ocupado" in page.get_data(as_text=True)
