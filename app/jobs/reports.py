"""The daily report mailed to admins: yesterday's figures (``services.statistics``), once a day
after DAILY_REPORT_HOUR in DISPLAY_TIMEZONE, in each admin's language. The periodic check runs
every hour; the day's first run after the hour sends, the others find it done (a Redis marker),
and each mail goes once by its key whatever happens."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from ..extensions import db
from ..models import Role, User
from ..redis_client import get_redis, names
from ..services import notifications, operations, statistics
from .context import job_context


def send_daily_report(now_iso: str | None = None) -> str | None:
    """Periodic: the report of the day before, once it is DAILY_REPORT_HOUR (``now_iso`` lets a
    test choose the instant)."""
    with job_context() as app:
        if not app.config["DAILY_REPORT_MAIL"]:
            return None
        now = datetime.fromisoformat(now_iso) if now_iso else datetime.now(timezone.utc)
        local = now.astimezone(ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"]))
        if local.hour < app.config["DAILY_REPORT_HOUR"]:
            return None
        day = local.date() - timedelta(days=1)
        done = names().daily_report(day.isoformat())
        if get_redis().exists(done):
            return None
        mailed = mail_daily_report(day)
        get_redis().set(done, 1, ex=3 * 24 * 3600)
        return f"daily report of {day}: mailed to {len(mailed)} admin(s)" if mailed else None


def mail_daily_report(day: date) -> list:
    """``day``'s report (in DISPLAY_TIMEZONE) mailed to every active admin, once each: the mail
    jobs enqueued."""
    from . import enqueue_email_once

    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    start, end, days = statistics.period(day, 1, tz)
    stats = statistics.report(None, start, end, days,
                              timedelta(days=current_app.config["REPORT_ANSWER_WITHIN_DAYS"]))
    failed = operations.failed_between(None, get_redis(), current_app.config["RQ_QUEUES"], start, end)
    link = current_app.config["PUBLIC_URL"].rstrip("/") + notifications.path(
        "admin.statistics_page", period="day", ending=day.isoformat())
    admins = db.session.scalars(db.select(User).where(User.role == Role.ADMIN, User.active.is_(True))).all()
    mails = []
    for admin in admins:
        with force_locale(admin.locale):
            context = {"user": admin, "day": day, "stats": stats, "failed_jobs": failed, "link": link}
            subject = _("Switchboard on %(day)s", day=day.isoformat())
            text = render_template("emails/daily_report.txt", **context)
            html = render_template("emails/daily_report.html", **context)
        mails.append(enqueue_email_once(f"daily-report:{day.isoformat()}:{admin.id}", admin.email, subject, text,
                                        html))
    return mails
