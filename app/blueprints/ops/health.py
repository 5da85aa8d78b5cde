"""``/health/live``: the process answers. ``/health/ready``: the database, Redis, a worker and the
scheduler answer too (503 with what failed otherwise), as JSON for a load balancer or a probe."""
from __future__ import annotations

from flask import current_app, jsonify

from ...redis_client import get_redis
from ...services import health
from . import bp


@bp.route("/health/live")
def live():
    return jsonify(status="ok")


@bp.route("/health/ready")
def ready():
    report = health.readiness(get_redis(), current_app.config["HEALTH_WORKER_STALE_SECONDS"])
    response = jsonify(report.as_dict())
    response.status_code = 200 if report.ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
