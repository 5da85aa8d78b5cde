"""The app under test, and an app context for helpers called outside one."""
from __future__ import annotations

from contextlib import contextmanager

from flask import has_app_context
from sqlalchemy import exc as sa_exc

from app.database import write_transaction
from app.extensions import db

# HTTP tests must not hold an app context while the test client runs (Flask would share `g`,
# and with it the logged-in user, between requests), so helpers push their own when needed.
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


def empty_tables(attempts: int = 5) -> None:
    """Every table emptied, in the app's own write transaction (on SQLite the shared worker may
    still hold the write lock: BEGIN IMMEDIATE waits for it). On PostgreSQL a job of an earlier
    test that the shared worker is still running can lock the same rows in the other order:
    PostgreSQL then ends one side with a deadlock error, and if it is this side, emptying starts
    again (nothing was deleted)."""
    for attempt in range(attempts):
        try:
            with write_transaction():
                for table in reversed(db.metadata.sorted_tables):
                    db.session.execute(table.delete())
            return
        except sa_exc.OperationalError as error:
            if getattr(error.orig, "sqlstate", None) != "40P01" or attempt == attempts - 1:  # deadlock_detected
                raise
            db.session.remove()
