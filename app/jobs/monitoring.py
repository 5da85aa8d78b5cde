"""Periodic assignment monitoring; its last report is kept in Redis for the admin overview."""
from __future__ import annotations

from ..clock import utcnow
from ..database import write_transaction
from ..redis_client import get_redis
from ..services import monitoring
from .context import job_context


def monitor_assignments() -> dict:
    with job_context():
        with write_transaction():
            report = monitoring.run_checks(utcnow())
        return monitoring.save_report(get_redis(), report)
