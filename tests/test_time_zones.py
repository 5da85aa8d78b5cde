"""Times are shown in the viewer's time zone (their account's): on their pages, in what is pushed
to them, and in the answer to their own message; the display zone for anyone else."""
import re
from datetime import datetime, timedelta

from app.database import write_transaction
from app.extensions import db
from app.models import Message, Role, User
from app.realtime.push import _render_for
from app.services import notifications
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user
from tests.support.http import login, send

NOW = datetime(2026, 12, 6, 12, 0, 0)  # UTC: 13:00 in Paris, 07:00 in Montreal


def shown(at: datetime, hours: int) -> str:
    return (at + timedelta(hours=hours)).strftime("%H:%M")


def notifications_page(app, user):
    """The user's notifications page, with one notification written at ``NOW``: (status, times shown)."""
    with app_context():
        with write_transaction():
            notifications.notify(user.id, "ticket", "ticket:1", now=NOW,
                                 params={"ticket_id": 1, "subject": "s", "action": "created"})
    http = app.test_client()
    login(http, user.email)
    answer = http.get("/notifications")
    return answer.status_code, re.findall(r'<time datetime="[^"]*">([^<]*)</time>', answer.get_data(as_text=True))


def test_a_page_shows_times_in_its_users_zone(app):
    status, shown_times = notifications_page(app, make_user(time_zone="America/Montreal"))
    assert status == 200 and shown_times == ["12/6/26, 7:00\u202fAM"], shown_times


def test_the_senders_own_bubble_and_a_push_to_someone_else_use_each_ones_zone(app):
    tokyo = make_user(time_zone="Asia/Tokyo")
    profile = make_profile()
    http = app.test_client()
    csrf = login(http, tokyo.email)
    answer = send(http, csrf, profile.id, "hello").get_data(as_text=True)
    with app_context():
        message = db.session.scalars(db.select(Message)).one()
        assert f">{shown(message.created_at, 9)}</time>" in answer          # Tokyo: UTC+9
        montreal = db.session.get(User, make_user(Role.MODERATOR, time_zone="America/Montreal").id)
        with app.test_request_context():
            html = _render_for(montreal, "partials/_message.html", message=message, viewer_side="profile")
        assert f">{shown(message.created_at, -5)}</time>" in html           # Montreal: UTC-5 in December


def test_one_instant_reads_differently_in_two_zones_one_after_the_other(app):
    """The date-and-time text is memoised: the memo must not hand one zone's text to the other."""
    paris, montreal = make_user(time_zone="Europe/Paris"), make_user(time_zone="America/Montreal")
    seen = [notifications_page(app, user)[1] for user in (paris, montreal)]
    assert seen == [["12/6/26, 1:00\u202fPM"], ["12/6/26, 7:00\u202fAM"]]
