"""The Flask app a job runs in (one per worker process, created on first use)."""
from __future__ import annotations

from contextlib import contextmanager

from flask import Flask

_app: Flask | None = None


def job_app() -> Flask:
    global _app
    if _app is None:
        from flask import current_app

        try:
            _app = current_app._get_current_object()  # already inside an app (tests, CLI)
        except RuntimeError:
            from .. import create_app

            _app = create_app()
    return _app


@contextmanager
def job_context():
    """App and request context (for url_for and templates), session removed afterwards."""
    app = job_app()
    with app.test_request_context(base_url=app.config["PUBLIC_URL"]):
        from ..extensions import db

        try:
            yield app
        finally:
            db.session.remove()
