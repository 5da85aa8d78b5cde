"""Log-in and language switch against hostile input: addresses to go back to, file parts where
text goes, malformed htmx headers."""
from __future__ import annotations

import io

import pytest

from app import create_app
from app.config import TestConfig
from app.models import User
from tests.support.factories import PASSWORD, count, make_user
from tests.support.http import csrf_from

# (what ``next`` says, where a browser would go back to, or None: the default page)
NEXT_TABLE = [
    ("/profiles", "/profiles"),
    ("/profiles?page=2#top", "/profiles?page=2#top"),
    ("/admin/users", "/admin/users"),
    ("//evil.example", None),
    ("///evil.example", None),
    ("/\t/evil.example", None),
    ("/\n/evil.example", None),
    ("/\r\n/evil.example", None),
    ("\t//evil.example", None),
    ("/\\evil.example", None),
    ("\\\\evil.example", None),
    ("\\/evil.example", None),
    ("https://evil.example/", None),
    ("http:evil.example", None),
    ("javascript:alert(1)", None),
    ("java\tscript:alert(1)", None),
    (" //evil.example", None),
    ("/ok\x00", None),
    ("/ok\x1b", None),
    ("/ok\x85", None),
    ("evil.example", None),
    ("", None),
    (None, None),
    ("/pro\tfiles", "/profiles"),           # a browser drops the tab: same page, without it
    ("/a\\b", "/a/b"),
    ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),  # an encoded slash is a path segment, not a host
]


@pytest.mark.parametrize("target,expected", NEXT_TABLE)
def test_safe_next_keeps_only_paths_of_this_site(target, expected):
    from app.web.auth import safe_next

    assert safe_next(target) == expected


def _login(client, user, next_value):
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", query_string={"next": next_value},
                       data={"email": user.email, "password": PASSWORD, "csrf_token": csrf})


@pytest.mark.parametrize("next_value,expected", [
    ("/\t/evil.example", "/profiles"), ("/\\evil.example", "/profiles"), ("/\n/evil.example", "/profiles"),
    ("\r\n//evil.example", "/profiles"), ("/x\r\n/y", "/x/y"),
    ("/pro\nfiles", "/profiles")])
def test_login_never_sends_to_another_site_nor_fails(app, next_value, expected):
    user = make_user()
    response = _login(app.test_client(), user, next_value)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_a_line_break_in_the_address_is_no_server_error(app):
    """``?next=%0a...`` as a browser sends it (the test client would encode a literal ``%0a``)."""
    user = make_user()
    client = app.test_client()
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=/%0a/evil.example",
                           data={"email": user.email, "password": PASSWORD, "csrf_token": csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/profiles"


@pytest.mark.parametrize("next_value", ["/\t/evil.example", "/\\evil.example", "/\n/evil.example",
                                        "\r\n//evil.example"])
def test_language_switch_never_sends_to_another_site_nor_fails(client, next_value):
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/lang/en", data={"next": next_value, "csrf_token": csrf})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_login_and_language_switch_keep_a_path_of_this_site(app):
    user = make_user()
    response = _login(app.test_client(), user, "/profiles?x=1")
    assert response.status_code == 302 and response.headers["Location"] == "/profiles?x=1"
    client = app.test_client()
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/lang/de", data={"next": "/signup", "csrf_token": csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/signup"


@pytest.mark.parametrize("header", ["http://[::1", "http://[", "://", "\t", "http://h:99999999/x"])
def test_malformed_current_url_on_an_htmx_request_is_the_usual_401(client, header):
    response = client.get("/moderateur/", headers={"HX-Request": "true", "HX-Current-URL": header})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_current_url_of_htmx_request_is_where_login_sends_back(client):
    response = client.get("/moderateur/", headers={"HX-Request": "true",
                                                   "HX-Current-URL": "http://localhost/profiles?x=1"})
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/login?next=%2Fprofiles%3Fx%3D1"


def _file(text="x"):
    return (io.BytesIO(text.encode()), "field.txt")


@pytest.mark.parametrize("field", ["email", "password"])
def test_login_field_sent_as_a_file_is_a_clear_400(app, field):
    user = make_user()
    client = app.test_client()
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    data = {"email": user.email, "password": PASSWORD, "csrf_token": csrf}
    data[field] = _file(data[field])
    response = client.post("/login", data=data, content_type="multipart/form-data",
                           headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "takes text, not a file" in response.get_data(as_text=True)


def test_signup_name_sent_as_a_file_is_a_clear_400_and_nothing_stored(client):
    csrf = csrf_from(client.get("/signup").get_data(as_text=True))
    response = client.post("/signup", data={"display_name": _file("Eve"), "email": "eve@example.test",
                                            "password": "long-enough-1", "locale": "en", "csrf_token": csrf},
                           content_type="multipart/form-data", headers={"Accept-Language": "en"})
    assert response.status_code == 400 and "takes text, not a file" in response.get_data(as_text=True)
    assert count(User, email="eve@example.test") == 0


def test_signup_with_a_taken_email_is_the_form_error(client):
    make_user(email="taken@example.test")
    csrf = csrf_from(client.get("/signup").get_data(as_text=True))
    response = client.post("/signup", data={"display_name": "Eve", "email": "Taken@example.test",
                                            "password": "long-enough-1", "locale": "en", "csrf_token": csrf},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "An account already uses this e-mail address." in response.get_data(as_text=True)


class SecureConfig(TestConfig):
    SECURE_TRANSPORT = True
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS_MAX_AGE_SECONDS = 1234


def _cookies_of_login_and_language(app):
    user = make_user()
    client = app.test_client()
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    logged = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf})
    switched = client.post("/lang/en", data={"next": "/profiles", "csrf_token": csrf_from(
        client.get("/profiles").get_data(as_text=True))})
    return logged, switched


def test_production_cookies_are_secure_and_hsts_is_sent(app):
    secure = create_app(SecureConfig)
    logged, switched = _cookies_of_login_and_language(secure)
    session_cookie = next(c for c in logged.headers.getlist("Set-Cookie") if c.startswith("session="))
    lang_cookie = next(c for c in switched.headers.getlist("Set-Cookie") if c.startswith("sb_lang="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie
    assert "Secure" in lang_cookie and "HttpOnly" in lang_cookie
    assert logged.headers["Strict-Transport-Security"] == "max-age=1234; includeSubDomains"
    assert secure.config["REMEMBER_COOKIE_SECURE"] is True


def test_the_embedded_default_stays_plain_http(app):
    logged, switched = _cookies_of_login_and_language(app)
    cookies = logged.headers.getlist("Set-Cookie") + switched.headers.getlist("Set-Cookie")
    assert cookies and not any("Secure" in c for c in cookies)
    assert "Strict-Transport-Security" not in logged.headers


def test_secure_transport_setting_turns_every_cookie_secure(monkeypatch):
    """The production setting itself (read from the environment when the settings load)."""
    import importlib

    import app.config as config

    monkeypatch.setenv("SECURE_TRANSPORT", "1")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    try:
        reloaded = importlib.reload(config)
        assert reloaded.Config.SECURE_TRANSPORT is True
        assert reloaded.Config.SESSION_COOKIE_SECURE is True and reloaded.Config.REMEMBER_COOKIE_SECURE is True
    finally:
        monkeypatch.delenv("SECURE_TRANSPORT")
        importlib.reload(config)


def test_an_unknown_email_is_verified_against_a_dummy_hash_of_the_same_method(app):
    """Same work for a known and an unknown address (the time itself: bench/login_timing.py)."""
    from app.services import passwords, users

    make_user(email="known@example.test")
    client = app.test_client()
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    before = users.dummy_verifications
    response = client.post("/login", data={"email": "nobody@example.test", "password": "whatever-1",
                                           "csrf_token": csrf})
    assert response.status_code == 401
    assert users.dummy_verifications == before + 1
    with app.app_context():
        assert not passwords.needs_rehash(users.dummy_hash(), app.config)  # the method and cost of new hashes
    client.post("/login", data={"email": "known@example.test", "password": "whatever-1", "csrf_token": csrf})
    assert users.dummy_verifications == before + 1  # a known address checks its own hash
