"""Logged-in bench users: session cookies minted in-process for a real server, the login form for a test client."""
from __future__ import annotations

import hashlib
import os
import re

from http_clients import http_session
from seeding import PASSWORD

USER_AGENT = "switchboard-bench/1"
CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


class Cookies:
    """Mints what a real login leaves in the session: Flask-Login's keys (with the session
    identifier of our address and User-Agent, so 'basic' session protection passes), the user id
    the send path reads (``web.auth.SESSION_USER_KEY``, set on log-in) and the CSRF secret, plus
    the matching signed CSRF token for X-CSRFToken."""

    def __init__(self, app):
        from flask_login.utils import _create_identifier
        from itsdangerous import URLSafeTimedSerializer

        from app.web.auth import SESSION_USER_KEY

        self.app = app
        self.name = app.config["SESSION_COOKIE_NAME"]
        self._serializer = app.session_interface.get_signing_serializer(app)
        self._csrf = URLSafeTimedSerializer(app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key,
                                            salt="wtf-csrf-token")
        self._hash = hashlib.sha1
        self._user_key = SESSION_USER_KEY
        with app.test_request_context("/", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                      headers={"User-Agent": USER_AGENT}):
            self.identifier = _create_identifier()

    def for_user(self, user_id: int) -> tuple[str, str]:
        """(Cookie header value, X-CSRFToken) for ``user_id``."""
        raw = self._hash(os.urandom(64)).hexdigest()
        value = self._serializer.dumps({"_user_id": str(user_id), "_fresh": True, "_id": self.identifier,
                                        self._user_key: user_id, "csrf_token": raw})
        return f"{self.name}={value}", self._csrf.dumps(raw)


def check_login(base_url: str, cookie: str, expect_path: str) -> None:
    """The minted cookie must reach a logged-in page without being re-issued."""
    r = http_session().get(base_url + "/", headers={"Cookie": cookie, "User-Agent": USER_AGENT}, allow_redirects=False,
                           timeout=10)
    location = r.headers.get("Location", "")
    if r.status_code not in (302, 303) or expect_path not in location:
        raise RuntimeError(f"minted session cookie not accepted: {r.status_code} -> {location!r}")
    if "Set-Cookie" in r.headers and "session=" in r.headers["Set-Cookie"]:
        raise RuntimeError("server rewrote the minted session (session protection or missing keys)")


def logged_in(app, email: str, home: str = "/"):
    """A test client logged in as ``email`` through the login form; returns it and the CSRF
    token of its ``home`` page."""
    client = app.test_client()
    found = CSRF_TOKEN.search(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": found.group(1) or found.group(2)})
    if response.status_code != 302:
        raise SystemExit(f"could not log {email} in ({response.status_code})")
    match = CSRF_TOKEN.search(client.get(home, follow_redirects=True).get_data(as_text=True))
    return client, match.group(1) or match.group(2)
