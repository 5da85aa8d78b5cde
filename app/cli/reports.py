"""``flask report daily``: a day's figures (DISPLAY_TIMEZONE), printed or mailed to admins."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import click
from flask import Flask

from ..jobs.reports import mail_daily_report
from ..redis_client import get_redis
from ..services import operations, statistics
from .jobs import seconds as _seconds


def init_app(app: Flask) -> None:
    @app.cli.group("report")
    def report_group():
        """Reports: how fast clients were answered."""

    @report_group.command("daily")
    @click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), help="the day (default: yesterday)")
    @click.option("--send", is_flag=True, help="mail it to every active admin (once per admin and day)")
    def daily(day, send):
        """A day's figures: messages, conversations, response times, per moderator, rounds, failed jobs."""
        tz = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
        chosen: date = day.date() if day else datetime.now(tz).date() - timedelta(days=1)
        start, end, days = statistics.period(chosen, 1, tz)
        stats = statistics.report(None, start, end, days, timedelta(days=app.config["REPORT_ANSWER_WITHIN_DAYS"]))
        failed = operations.failed_between(None, get_redis(), app.config["RQ_QUEUES"], start, end)
        click.echo(f"{chosen.isoformat()} ({tz.key})")
        for label, value in (
                ("client messages", stats.client_messages), ("replies", stats.replies),
                ("new conversations", stats.new_conversations), ("active conversations", stats.active_conversations),
                ("first response p50 / p90", f"{_seconds(stats.first_response_p50)} / {_seconds(stats.first_response_p90)}"),
                ("response p50 / p90", f"{_seconds(stats.response_p50)} / {_seconds(stats.response_p90)}"),
                ("unanswered at the end", stats.unanswered), ("rounds sent", stats.rounds_sent),
                ("jobs failed for good", failed)):
            click.echo(f"  {label:<26} {value}")
        for m in stats.moderators:
            click.echo(f"  {m.name:<26} {m.replies} replies, response p50 {_seconds(m.response_p50)}, "
                       f"p90 {_seconds(m.response_p90)}")
        if send:
            click.echo(f"mailed to {len(mail_daily_report(chosen))} admin(s)")
