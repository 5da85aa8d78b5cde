"""Every route, as every kind of visitor, with malformed ids, parameters and form fields: a clear
4xx (or a normal answer), never a 500.

Ids in the path and in parameters run from zero to beyond what a database integer holds; query
strings and forms carry text where numbers go, negative numbers and oversized values.
"""
from __future__ import annotations

import io
import re

import pytest

from app.models import Message, Role, User
from tests.support.factories import count, make_profile, make_user, token
from tests.support import sweep
from tests.support.http import csrf_from, login

HUGE = str(2**63)           # past a 64-bit integer
BIG = str(2**31)            # past PostgreSQL's integer
IDS = ["0", "1", BIG, HUGE]
# files; the socket (tests/realtime); logging out ends the sweep's session; readiness, whose 503 says
# that a part is down (no worker runs here: tests/blueprints/test_operations_http.py)
SKIPPED = {"static", "auth.logout", "ops.ready"}  # /ws is swept: its checks answer before any handshake
GARBAGE = {
    "after": "x", "before": "-3", "conversation": HUGE, "kind": "<script>", "moderator": BIG, "next": "//evil.example",
    "reason": "x" * 5000, "role": "root", "active": "maybe", "body": "x" * 5000, "client_token": "t" * 500,
    "conflict_id": HUGE, "conversation_id": BIG, "grant": "perhaps", "moderator_id": "-1", "note": "x" * 10000,
    "profile_id": "abc", "display_name": "", "email": "not-an-email", "password": "", "age": "-5", "name": "",
    "photo": "GIF89a not an image",  # an upload field: as a file, it reaches the photo checks
}


def _urls(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED:
            continue
        names = list(rule.arguments)
        values = IDS if names else [None]
        for value in values:
            path = rule.rule
            for name in names:
                path = re.sub(rf"<(?:[a-z]+:)?{name}>", value if value is not None else "1", path)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, path


def _visitor(app, role):
    client = app.test_client()
    if role is None:
        return client, csrf_from(client.get("/login").get_data(as_text=True))
    return client, login(client, make_user(role, online=role == Role.MODERATOR).email)


@pytest.mark.parametrize("role", [None, Role.CLIENT, Role.MODERATOR, Role.ADMIN], ids=["anonymous", "client", "moderator", "admin"])
def test_no_route_answers_malformed_input_with_a_server_error(app, role):
    make_profile("Camille")
    client, csrf = _visitor(app, role)
    failures = []
    urls = list(_urls(app))
    for method, path in urls:
        if method == "GET":
            response = client.get(path, query_string=GARBAGE, headers={"HX-Request": "true"})
        else:
            response = client.post(path, data=GARBAGE, headers={"X-CSRFToken": csrf, "HX-Request": "true"})
        if response.status_code >= 500:
            failures.append(f"{method} {path}: {response.status_code}")
    sweep.record("fields", _role_name(role), len(urls), 1, len(urls), len(failures))
    assert not failures, "\n".join(failures)


def _role_name(role) -> str:
    return role.value if role is not None else "anonymous"


ROLES = pytest.mark.parametrize("role", [None, Role.CLIENT, Role.MODERATOR, Role.ADMIN],
                                ids=["anonymous", "client", "moderator", "admin"])

# Every header the app reads (htmx's, the error target, languages, the socket's Origin, the
# referrer), each malformed; a request carries one set.
HEADER_SETS = {
    "HX-Current-URL unclosed IPv6": {"HX-Request": "true", "HX-Current-URL": "http://[::1"},
    "HX-Current-URL scheme": {"HX-Request": "true", "HX-Current-URL": "javascript:alert(1)//\x7f\t"},
    "HX-Current-URL huge port": {"HX-Request": "true", "HX-Current-URL": "http://h:99999999999/x?y=%zz"},
    "HX-Request garbage": {"HX-Request": "maybe"},
    "HX-Target etc.": {"HX-Request": "true", "HX-Target": "<script>" * 50, "HX-Trigger": "x" * 3000,
                       "HX-Trigger-Name": "\u00e9\u0301", "HX-Boosted": "2", "HX-History-Restore-Request": "x",
                       "HX-Prompt": "\x01"},
    "X-Error-Target": {"HX-Request": "true", "X-Error-Target": "'\"><script>alert(1)</script>"},
    "Accept-Language garbage": {"Accept-Language": ";q=x,,*;q=9, zz-ZZZZZ-1;q=-1, \u00e9;q=nan"},
    "Accept-Language long": {"Accept-Language": "fr;q=0.5," * 500},
    "Origin": {"Origin": "http://[::1"},
    "Referer": {"Referer": "http://[::1"},
    "X-CSRFToken garbage": {"X-CSRFToken": "\u00e9" * 300},
}
# Cookies the app reads, with garbage: the language cookie, the session (not signed, signed by
# an older version of the app with other types), Flask-Login's remember cookie.
COOKIE_SETS = {
    "language cookie": {"sb_lang": "zz" * 2000},
    "language cookie quote": {"sb_lang": '"\\'},
    "session not signed": {"session": "garbage.garbage.garbage"},
    "session empty": {"session": ""},
    "remember cookie": {"remember_token": "1|" + "x" * 200},
}
SIGNED_SESSIONS = {
    "session with strings for numbers": {"_user_id": "abc", "sb_user": "x", "sb_sv": "x", "sb_locale": "zz"},
    "session of nobody": {"_user_id": HUGE, "sb_user": int(HUGE), "sb_sv": -1, "sb_locale": None},
}


def _first_urls(app):
    """Every route and method once (the first id only): the header, cookie and file sweeps."""
    seen = set()
    for method, path in _urls(app):
        rule = re.sub(r"\d+", "N", path)
        if (method, rule) not in seen:
            seen.add((method, rule))
            yield method, path


def _send(client, method, path, csrf, headers=None, data=None, content_type=None):
    headers = dict(headers or {})
    if method == "GET":
        return client.get(path, query_string=GARBAGE, headers=headers)
    headers.setdefault("X-CSRFToken", csrf)
    kwargs = {"content_type": content_type} if content_type else {}
    return client.post(path, data=GARBAGE if data is None else data, headers=headers, **kwargs)


@ROLES
@pytest.mark.database_independent  # headers reach the app before any query: checked once, on SQLite
def test_no_route_answers_malformed_headers_with_a_server_error(app, role):
    make_profile("Camille")
    client, csrf = _visitor(app, role)
    urls = list(_first_urls(app))
    failures, requests = [], 0
    for method, path in urls:
        for name, headers in HEADER_SETS.items():
            response = _send(client, method, path, csrf, headers)
            requests += 1
            if response.status_code >= 500:
                failures.append(f"{method} {path} [{name}]: {response.status_code}")
    sweep.record("headers", _role_name(role), len(urls), len(HEADER_SETS), requests, len(failures))
    assert not failures, "\n".join(failures)


@ROLES
def test_no_route_answers_malformed_cookies_with_a_server_error(app, role):
    """On each database: a session naming a user by a string or a number beyond any column's range
    reaches the user loader's query."""
    make_profile("Camille")
    client, csrf = _visitor(app, role)
    session_cookie = client.get_cookie("session")
    serializer = app.session_interface.get_signing_serializer(app)
    cookie_sets = dict(COOKIE_SETS)
    cookie_sets.update({name: {"session": serializer.dumps(content)} for name, content in SIGNED_SESSIONS.items()})
    urls = list(_first_urls(app))
    failures, requests = [], 0
    for method, path in urls:
        for name, cookies in cookie_sets.items():
            other = app.test_client()
            if session_cookie is not None:
                other.set_cookie("session", session_cookie.value)
            for key, value in cookies.items():
                other.set_cookie(key, value)
            response = _send(other, method, path, csrf, {"HX-Request": "true"})
            requests += 1
            if response.status_code >= 500:
                failures.append(f"{method} {path} [{name}]: {response.status_code}")
    sweep.record("cookies", _role_name(role), len(urls), len(cookie_sets), requests, len(failures))
    assert not failures, "\n".join(failures)


@ROLES
def test_no_route_answers_fields_sent_as_files_or_repeated_with_a_server_error(app, role):
    make_profile("Camille")
    client, csrf = _visitor(app, role)
    urls = [(m, p) for m, p in _first_urls(app) if m == "POST"]
    failures, requests = [], 0
    for method, path in urls:
        for field in GARBAGE:
            data = dict(GARBAGE)
            data[field] = (io.BytesIO(GARBAGE[field].encode()), "field.txt")
            response = _send(client, method, path, csrf, {"HX-Request": "true"}, data, "multipart/form-data")
            requests += 1
            if response.status_code >= 500:
                failures.append(f"{method} {path} [{field} as a file]: {response.status_code}")
        repeated = {field: [value, "1", value] for field, value in GARBAGE.items()}
        for content_type in (None, "multipart/form-data"):
            response = _send(client, method, path, csrf, {"HX-Request": "true"}, repeated, content_type)
            requests += 1
            if response.status_code >= 500:
                failures.append(f"{method} {path} [repeated fields, {content_type}]: {response.status_code}")
    sweep.record("fields as files or repeated", _role_name(role), len(urls), len(GARBAGE) + 2, requests, len(failures))
    assert not failures, "\n".join(failures)


def test_text_with_a_nul_character_is_refused_and_nothing_is_stored(app):
    """PostgreSQL cannot store it (a 500 there, before), SQLite would: a clear 400 on both."""
    profile = make_profile("Camille")
    client = app.test_client()
    csrf = login(client, make_user().email)
    sent = client.post(f"/profiles/{profile.id}/messages", data={"body": "hello\x00there", "client_token": token()},
                       headers={"X-CSRFToken": csrf, "HX-Request": "true"})
    assert sent.status_code == 400 and "NUL" in sent.get_data(as_text=True)
    assert count(Message) == 0
    assert client.get(f"/profiles/{profile.id}/messages", query_string={"x": "\x00"}).status_code == 400

    visitor = app.test_client()
    page = visitor.get("/signup").get_data(as_text=True)
    signup = visitor.post("/signup", data={"display_name": "Eve\x00", "email": "eve@example.test",
                                           "password": "long-enough-1", "csrf_token": csrf_from(page)})
    assert signup.status_code == 400 and "NUL (0x00)" in signup.get_data(as_text=True)
    assert count(User, email="eve@example.test") == 0
