"""Every route, as every kind of visitor, with malformed ids, parameters and form fields: a clear
4xx (or a normal answer), never a 500.

Ids in the path and in parameters run from zero to beyond what a database integer holds; query
strings and forms carry text where numbers go, negative numbers and oversized values.
"""
from __future__ import annotations

import re

import pytest

from app.models import Message, Role, User
from tests.support.factories import count, make_profile, make_user, token
from tests.support.http import csrf_from, login

HUGE = str(2**63)           # past a 64-bit integer
BIG = str(2**31)            # past PostgreSQL's integer
IDS = ["0", "1", BIG, HUGE]
SKIPPED = {"static", "websocket", "auth.logout"}  # files; the socket (tests/realtime); logging out ends the sweep's session
GARBAGE = {
    "after": "x", "before": "-3", "conversation": HUGE, "kind": "<script>", "moderator": BIG, "next": "//evil.example",
    "reason": "x" * 5000, "role": "root", "active": "maybe", "body": "x" * 5000, "client_token": "t" * 500,
    "conflict_id": HUGE, "conversation_id": BIG, "grant": "perhaps", "moderator_id": "-1", "note": "x" * 10000,
    "profile_id": "abc", "display_name": "", "email": "not-an-email", "password": "", "age": "-5", "name": "",
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
    for method, path in _urls(app):
        if method == "GET":
            response = client.get(path, query_string=GARBAGE, headers={"HX-Request": "true"})
        else:
            response = client.post(path, data=GARBAGE, headers={"X-CSRFToken": csrf, "HX-Request": "true"})
        if response.status_code >= 500:
            failures.append(f"{method} {path}: {response.status_code}")
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
