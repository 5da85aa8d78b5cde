"""Periodic assignment monitoring; its last report is kept in Redis for the admin overview."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from ..database import write_transaction
from ..extensions import db
from ..models import Role, User
from ..clock import utcnow
from ..realtime import push
from ..redis_client import get_redis
from ..services import monitoring
from .context import job_context

LAST_REPORT_KEY = "sb:monitoring:last"


def monitor_assignments() -> dict:
    with job_context():
        with write_transaction():
            report = monitoring.run_checks(utcnow())
        data = report.as_dict()
        get_redis().set(LAST_REPORT_KEY, json.dumps(data), ex=3600)
        if report.receivers:
            push.conversations_assigned(report.receivers)
        if report.alerts:
            admins = db.session.scalars(select(User.id).where(User.role == Role.ADMIN, User.is_online.is_(True)))
            push.admin_alert(set(admins), report)
        return data


def last_report() -> dict | None:
    """The last pass's report, its ``checked_at`` a (UTC) datetime again, for the overview's time filter."""
    raw = get_redis().get(LAST_REPORT_KEY)
    if not raw:
        return None
    report = json.loads(raw)
    report["checked_at"] = datetime.fromisoformat(report["checked_at"])
    return report
