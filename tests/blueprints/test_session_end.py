"""A session ends everywhere: a copy of the cookie taken before logging out, disabling the
account or an admin's "end sessions" opens nothing afterwards."""
from __future__ import annotations

import logging

from app.models import Role
from tests.support.factories import make_user
from tests.support.http import csrf_from, login


def _copy(app, client):
    """Another browser holding a copy of ``client``'s session cookie."""
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    return copy


def _refused(copy):
    page = copy.get("/profiles")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    fragment = copy.get("/profiles", headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/profiles"})
    assert fragment.status_code == 401 and fragment.headers["HX-Redirect"] == "/login?next=%2Fprofiles"


def test_a_cookie_copied_before_logout_opens_nothing_after(app):
    user = make_user()
    client = app.test_client()
    csrf = login(client, user.email)
    copy = _copy(app, client)
    assert copy.get("/profiles").status_code == 200  # the copy works while the session lasts
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    _refused(copy)
    again = app.test_client()
    login(again, user.email)  # logging in again gives a working session
    assert again.get("/profiles").status_code == 200
    _refused(copy)


def test_disabling_an_account_ends_its_sessions_for_good(app):
    user = make_user()
    client = app.test_client()
    login(client, user.email)
    assert client.get("/profiles").status_code == 200  # the session works until the account is disabled
    admin = app.test_client()
    csrf = login(admin, make_user(Role.ADMIN).email)
    assert admin.post(f"/admin/users/{user.id}/active", data={"active": "0", "csrf_token": csrf}).status_code == 302
    assert admin.post(f"/admin/users/{user.id}/active", data={"active": "1", "csrf_token": csrf}).status_code == 302
    _refused(client)  # enabled again, the old session stays ended (asserts inside)
    again = app.test_client()
    login(again, user.email)  # the account itself works again
    assert again.get("/profiles").status_code == 200


def test_admin_ends_every_session_of_a_user(app, caplog):
    user = make_user()
    phone, laptop = app.test_client(), app.test_client()
    login(phone, user.email)
    login(laptop, user.email)
    admin = app.test_client()
    admin_user = make_user(Role.ADMIN)
    csrf = login(admin, admin_user.email)
    users_page = admin.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{user.id}/sessions/end" in users_page and "End sessions" in users_page
    refused = admin.post(f"/admin/users/{user.id}/sessions/end", data={"csrf_token": "forged"})
    assert refused.status_code == 400
    assert phone.get("/profiles").status_code == 200
    with caplog.at_level(logging.INFO, logger="app.services.users"):
        ended = admin.post(f"/admin/users/{user.id}/sessions/end", data={"csrf_token": csrf},
                           headers={"Accept-Language": "en"})
    assert ended.status_code == 302
    assert any(f"sessions of user {user.id} ended by user {admin_user.id}" in r.getMessage() for r in caplog.records)
    _refused(phone)
    _refused(laptop)
    assert admin.get("/admin/").status_code == 200  # the admin's own session goes on


def test_only_admins_end_sessions(app):
    user, other = make_user(), make_user()
    client = app.test_client()
    csrf = login(client, user.email)
    assert client.post(f"/admin/users/{other.id}/sessions/end", data={"csrf_token": csrf}).status_code == 403
    victim = app.test_client()
    login(victim, other.email)
    assert victim.get("/profiles").status_code == 200


def test_ending_sessions_closes_open_sockets_and_refuses_the_reconnect(web_server):
    """On a real server: the user's open page loses its socket at once (the reconnect code), and
    its reconnect, with the ended session, is refused."""
    import pytest
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    from tests.support.http import LiveSession
    from tests.support.sockets import open_socket

    admin, customer = make_user(Role.ADMIN), make_user()
    customer_session = LiveSession(web_server.url)
    login(customer_session, customer.email)
    ws = open_socket(customer_session)
    admin_session = LiveSession(web_server.url)
    csrf = login(admin_session, admin.email)
    assert admin_session.post(f"/admin/users/{customer.id}/sessions/end", data={"csrf_token": csrf}).status_code == 302
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    with pytest.raises(InvalidStatus):
        open_socket(customer_session)
    page = customer_session.get("/profiles", allow_redirects=False)
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_a_cookie_copied_before_logout_sends_no_message(app):
    """The send path does not load the user: its own statements check the session's version."""
    from app.models import Message
    from tests.support.factories import count, make_profile
    from tests.support.http import send

    profile = make_profile()
    user = make_user()
    client = app.test_client()
    csrf = login(client, user.email)
    copy = _copy(app, client)
    assert send(copy, csrf, profile.id, "before").status_code == 200
    client.post("/logout", data={"csrf_token": csrf})
    refused = send(copy, csrf, profile.id, "after")
    assert refused.status_code == 401 and refused.headers["HX-Redirect"].startswith("/login")
    assert count(Message) == 1


def test_an_admin_setting_a_password_ends_the_sessions(app):
    from tests.support.factories import PASSWORD

    user = make_user()
    client = app.test_client()
    login(client, user.email)
    admin = app.test_client()
    csrf = login(admin, make_user(Role.ADMIN).email)
    too_short = admin.post(f"/admin/users/{user.id}/password", data={"password": "short", "csrf_token": csrf},
                           headers={"Accept-Language": "en"})
    assert too_short.status_code == 422 and "at least 8 characters" in too_short.get_data(as_text=True)
    assert client.get("/profiles").status_code == 200  # nothing changed
    changed = admin.post(f"/admin/users/{user.id}/password", data={"password": "a-new-password-1", "csrf_token": csrf})
    assert changed.status_code == 302
    _refused(client)
    fresh = app.test_client()
    page_csrf = csrf_from(fresh.get("/login").get_data(as_text=True))
    assert fresh.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": page_csrf}).status_code == 401
    login(fresh, user.email, "a-new-password-1")
    assert fresh.get("/profiles").status_code == 200
