"""The reports page: how fast clients were answered over a day or a week (in the admin's time
zone), per moderator, with charts; and who is waiting, and which moderators are overloaded, now."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import abort, current_app, render_template, request
from flask_login import current_user

from ...clock import utcnow
from ...redis_client import get_redis
from ...services import activity, operations, statistics
from ...web.i18n import zone
from . import bp

PERIODS = {"day": 1, "week": 7}


def _last_day(value: str | None, today: date) -> date:
    if not value:
        return today
    try:
        chosen = date.fromisoformat(value)
    except ValueError:
        abort(400)
    return min(chosen, today)


@bp.route("/statistics")
def statistics_page():
    config = current_app.config
    kind = request.args.get("period", "week")
    if kind not in PERIODS:
        abort(400)
    tz = zone(current_user.time_zone) or ZoneInfo(config["BABEL_DEFAULT_TIMEZONE"])
    now = utcnow()
    today = datetime.now(tz).date()
    last_day = _last_day(request.args.get("ending"), today)
    start, end, days = statistics.period(last_day, PERIODS[kind], tz)
    stats = statistics.report(current_user, start, end, days, timedelta(days=config["REPORT_ANSWER_WITHIN_DAYS"]))
    failed = operations.failed_between(current_user, get_redis(), config["RQ_QUEUES"], start, end)
    step = timedelta(days=PERIODS[kind])
    return render_template(
        "admin/statistics.html", stats=stats, kind=kind, last_day=last_day, failed_jobs=failed,
        previous=(last_day - step).isoformat(), following=(last_day + step).isoformat() if last_day < today else None,
        waiting=statistics.waiting_clients(current_user, config["REPORT_WAITING_CLIENTS"]),
        loads=statistics.moderator_loads(current_user, now, activity.active_since(now), config["OVERLOADED_WAITING"],
                                         config["OVERLOADED_WAIT_SECONDS"]),
        now=now, wait_buckets=statistics.WAIT_BUCKETS)
