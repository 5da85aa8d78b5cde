"""The admin rounds page: current cycle, history with answers since, presence, settings."""
from datetime import timedelta

from app.database import write_transaction
from app.models import Role
from app.clock import utcnow
from app.services import rounds
from tests.support.context import app_context
from tests.support.factories import make_user
from tests.support.http import login
from tests.support.rounds import moderators_with_loads, post_waiting


def test_rounds_page_shows_the_cycle_the_history_presence_and_settings(app):
    admin = app.test_client()
    login(admin, make_user(Role.ADMIN).email)
    empty = admin.get("/admin/rounds")
    assert empty.status_code == 200
    html = empty.get_data(as_text=True)
    assert 'href="/admin/rounds"' in html and "No cycle in progress" in html and "No round yet." in html
    assert "ROUNDS_PENDING_PER_MODERATOR" in html and "PRESENCE_GRACE_SECONDS" in html and "30 minutes" in html

    now = utcnow()
    with app_context():
        first, second, third, fourth = moderators_with_loads([0, 1, 2, 3], now - timedelta(minutes=1))
        post_waiting(4, now - timedelta(minutes=9))
        with write_transaction():
            assert rounds.start_notification_round(now, rounds.Settings()).action == "round"
    html = admin.get("/admin/rounds").get_data(as_text=True)
    assert "Cycle 1" in html and "in progress: round 1" in html
    assert "Next to be called in:" in html and f"{fourth.display_name} (offline)" in html
    history = html[html.index('id="rounds-history"'):html.index('id="moderator-presence"')]
    assert f"{first.display_name}, {second.display_name}, {third.display_name}" in history
    assert "0 of 4" in history


def test_rounds_page_is_for_admins_only(app):
    for role in (Role.MODERATOR, Role.CLIENT):
        other = app.test_client()
        login(other, make_user(role).email)
        assert other.get("/admin/rounds").status_code == 403


def test_users_list_shows_online_since_and_last_activity(app):
    admin = app.test_client()
    login(admin, make_user(Role.ADMIN).email)
    html = admin.get("/admin/users").get_data(as_text=True)
    assert "Online since" in html and "Last activity" in html
