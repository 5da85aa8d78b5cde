"""The statistics page over HTTP: a week or a day in the admin's time zone, figures and charts,
per moderator, who waits now; bad periods are a 400; nobody but admins gets it. The daily report
job mails each admin once, in their language, after the hour; ``flask report daily``."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from app.database import write_transaction
from app.extensions import db
from app.jobs.reports import mail_daily_report, send_daily_report
from app.models import Conversation, Message, ProfileAssignment, Role
from app.models.chat import Sender
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user, token
from tests.support.http import login

PARIS = ZoneInfo("Europe/Paris")


def a_conversation_yesterday(moderator, client_name="Julien"):
    """Asked yesterday at 10:00 Paris time, answered 4 minutes later."""
    client, profile = make_user(display_name=client_name), make_profile()
    yesterday = datetime.now(PARIS).date() - timedelta(days=1)
    asked = datetime(yesterday.year, yesterday.month, yesterday.day, 10, 0, tzinfo=PARIS).astimezone(timezone.utc)
    asked = asked.replace(tzinfo=None)
    with app_context(), write_transaction():
        db.session.add(ProfileAssignment(profile_id=profile.id, moderator_id=moderator.id))
        row = Conversation(client_id=client.id, profile_id=profile.id, assigned_moderator_id=moderator.id, created_at=asked)
        db.session.add(row)
        db.session.flush()
        db.session.add_all([
            Message(conversation_id=row.id, sender=Sender.CLIENT, author_id=client.id, body="?", client_token=token(),
                    created_at=asked),
            Message(conversation_id=row.id, sender=Sender.PROFILE, author_id=moderator.id, body="!", client_token=token(),
                    created_at=asked + timedelta(minutes=4))])
    return yesterday


def test_the_week_and_the_day_with_a_moderators_figures(app):
    moderator = make_user(Role.MODERATOR, display_name="Ada")
    yesterday = a_conversation_yesterday(moderator)
    admin = make_user(Role.ADMIN, time_zone="Europe/Paris")
    client = app.test_client()
    login(client, admin.email)
    week = client.get("/admin/statistics")
    html = week.get_data(as_text=True)
    assert week.status_code == 200
    assert "Messages per day" in html and "<svg" in html and "Ada" in html and "4 min" in html
    day = client.get(f"/admin/statistics?period=day&ending={yesterday.isoformat()}").get_data(as_text=True)
    assert "Ada" in day and "1 client message" in day
    before = client.get(f"/admin/statistics?period=day&ending={(yesterday - timedelta(days=1)).isoformat()}")
    assert "No reply in this period." in before.get_data(as_text=True)
    for bad in ("period=month", "ending=yesterday", "ending=2026-13-40"):
        assert client.get(f"/admin/statistics?{bad}").status_code == 400
    assert client.get("/admin/statistics?ending=2999-01-01").status_code == 200  # the future: up to today


def test_only_admins_read_the_statistics(app):
    for role in (Role.CLIENT, Role.MODERATOR):
        client = app.test_client()
        login(client, make_user(role).email)
        assert client.get("/admin/statistics").status_code in (302, 403)


def test_the_daily_report_is_mailed_once_after_the_hour_in_each_admins_language(ctx):
    moderator = make_user(Role.MODERATOR, display_name="Ada")
    a_conversation_yesterday(moderator)
    make_user(Role.ADMIN, locale="fr", email="fr@example.test")
    make_user(Role.ADMIN, locale="en", email="en@example.test")
    today = datetime.now(PARIS).date()
    early = datetime(today.year, today.month, today.day, 6, 30, tzinfo=PARIS).isoformat()
    later = datetime(today.year, today.month, today.day, 9, 0, tzinfo=PARIS).isoformat()
    assert send_daily_report(early) is None  # before DAILY_REPORT_HOUR (7)
    assert send_daily_report(later).endswith("mailed to 2 admin(s)")
    assert send_daily_report(later) is None  # done for the day
    mails = {job.args[1]: job for job in mail_daily_report(datetime.now(PARIS).date() - timedelta(days=1))}
    assert set(mails) == {"fr@example.test", "en@example.test"}  # the mails' keys: sent once each
    assert "Réponses" in mails["fr@example.test"].args[3] and "Replies" in mails["en@example.test"].args[3]
    assert "Ada: 1, 4 min" in mails["en@example.test"].args[3]


def test_flask_report_daily_prints_and_sends(app):
    moderator = make_user(Role.MODERATOR, display_name="Ada")
    yesterday = a_conversation_yesterday(moderator)
    make_user(Role.ADMIN)
    runner = app.test_cli_runner()
    printed = runner.invoke(args=["report", "daily", "--date", yesterday.isoformat()])
    assert printed.exit_code == 0, printed.output
    assert "client messages            1" in printed.output and "Ada" in printed.output
    sent = runner.invoke(args=["report", "daily", "--send"])
    assert sent.exit_code == 0 and "mailed to 1 admin(s)" in sent.output
    assert runner.invoke(args=["report", "daily", "--date", "yesterday"]).exit_code == 2
