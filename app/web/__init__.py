"""Web plumbing shared by every blueprint: log-in and role guards, security headers, the input
guard, error pages, template helpers and the language of each request."""
from __future__ import annotations


def init_app(app) -> None:
    from . import auth, errors, input_guard, request_log, security, templating

    request_log.init_app(app)
    auth.init_app(app)
    security.init_app(app)
    input_guard.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
