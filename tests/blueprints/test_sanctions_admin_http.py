"""Admins ban, mute and lift from the users page; bad input is a clear 4xx, nothing written."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import utcnow
from app.models import ModerationAction, Role, Sanction
from app.services.moderation import sanctions
from tests.support.context import app_context
from tests.support.factories import count, make_user
from tests.support.http import login

EN = {"Accept-Language": "en"}


def impose(http, csrf, user_id, **fields):
    data = {"csrf_token": csrf, "kind": "mute", "reason": "insults", "duration": "3600", **fields}
    return http.post(f"/admin/users/{user_id}/sanctions", data=data, headers=EN)


def test_an_admin_mutes_then_lifts_from_the_users_page(client):
    admin, customer = make_user(Role.ADMIN), make_user()
    csrf = login(client, admin.email)
    assert impose(client, csrf, customer.id).status_code == 302
    page = client.get("/admin/users?role=client", headers=EN).get_data(as_text=True)
    assert f'id="sanctions-{customer.id}"' in page and "insults" in page and "Lift" in page
    with app_context():
        mute = sanctions.running(customer.id, utcnow())["mute"]
        assert timedelta(minutes=59) < mute.ends_at - utcnow() <= timedelta(hours=1)
    assert client.post(f"/admin/sanctions/{mute.id}/lift", data={"csrf_token": csrf}).status_code == 302
    with app_context():
        assert sanctions.running(customer.id, utcnow()) == {}
    assert count(ModerationAction) == 2


def test_an_admin_bans_until_a_date_or_until_lifted(client):
    admin, customer, other = make_user(Role.ADMIN), make_user(), make_user()
    csrf = login(client, admin.email)
    assert impose(client, csrf, customer.id, kind="ban", duration="", until="2099-01-01T10:00").status_code == 302
    assert impose(client, csrf, other.id, kind="ban", duration="").status_code == 302
    with app_context():
        assert sanctions.running(customer.id, utcnow())["ban"].ends_at.year == 2099
        assert sanctions.running(other.id, utcnow())["ban"].ends_at is None


@pytest.mark.parametrize("fields, status, words", [
    ({"reason": "  "}, 422, "Give a reason."),
    ({"until": "2001-01-01T10:00"}, 422, "The end must be in the future."),
    ({"until": "tomorrow"}, 422, "The end is not a date and time."),
    ({"duration": "17"}, 422, "Choose one of the lengths offered."),
    ({"kind": "exile"}, 422, "Choose a ban or a mute."),
])
def test_bad_input_is_a_clear_error_and_nothing_is_written(client, fields, status, words):
    admin, customer = make_user(Role.ADMIN), make_user()
    csrf = login(client, admin.email)
    response = impose(client, csrf, customer.id, **fields)
    assert response.status_code == status and words in response.get_data(as_text=True)
    assert count(Sanction) == 0 and count(ModerationAction) == 0


def test_a_sanction_on_someone_who_is_not_a_client_or_nobody_is_a_404(client):
    admin, moderator = make_user(Role.ADMIN), make_user(Role.MODERATOR)
    csrf = login(client, admin.email)
    for user_id in (moderator.id, 999999):
        response = impose(client, csrf, user_id)
        assert response.status_code == 404 and "No such client." in response.get_data(as_text=True)
    assert client.post("/admin/sanctions/999999/lift", data={"csrf_token": csrf}, headers=EN).status_code == 404
    assert count(Sanction) == 0


def test_lifting_twice_is_a_clear_error(client):
    admin, customer = make_user(Role.ADMIN), make_user()
    csrf = login(client, admin.email)
    impose(client, csrf, customer.id)
    with app_context():
        mute_id = sanctions.running(customer.id, utcnow())["mute"].id
    assert client.post(f"/admin/sanctions/{mute_id}/lift", data={"csrf_token": csrf}).status_code == 302
    again = client.post(f"/admin/sanctions/{mute_id}/lift", data={"csrf_token": csrf}, headers=EN)
    assert again.status_code == 422 and "already ended" in again.get_data(as_text=True)


def test_moderators_and_clients_may_not_use_the_admin_forms(app):
    customer = make_user()
    for role in (Role.MODERATOR, Role.CLIENT):
        http = app.test_client()
        csrf = login(http, make_user(role).email)
        assert impose(http, csrf, customer.id).status_code in (302, 403)
    assert count(Sanction) == 0
