"""One line per request in JSON logs (``REQUEST_LOG``, on with ``LOG_FORMAT=json``): its id, the
user's id, route, status and duration. The id comes from an ``X-Request-ID`` header set by the
proxy in front (when it looks like one), else is made here; it goes back in the response and on
every line logged while the request runs. Health probes and static files are not logged."""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import g, request

from .. import logs
from .auth import session_user_id

log = logging.getLogger("switchboard.requests")
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
QUIET = ("static", "ops.live", "ops.ready")


def init_app(app) -> None:
    if not app.config["REQUEST_LOG"]:
        return

    @app.before_request
    def start():
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()
        logs.bind(request_id=g.request_id)

    @app.after_request
    def finish(response):
        started = g.get("request_started")
        if started is None:
            return response
        response.headers["X-Request-ID"] = g.request_id
        if request.endpoint not in QUIET:
            log.info("%s %s %s", request.method, request.path, response.status_code, extra={
                "route": request.url_rule.rule if request.url_rule else None, "method": request.method,
                "status": response.status_code, "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "user_id": session_user_id()})
        return response

    @app.teardown_request
    def forget(_exc):
        logs.unbind()
