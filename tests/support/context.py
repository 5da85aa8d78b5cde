"""The app under test, and an app context for helpers called outside one."""
from __future__ import annotations

from contextlib import contextmanager

from flask import has_app_context

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
