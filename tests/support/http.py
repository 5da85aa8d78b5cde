"""Logging in and sending over HTTP, through Flask's test client or to a real server."""
from __future__ import annotations

import re

import requests

from tests.support.factories import PASSWORD, token

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of a page (its forms' field or the htmx headers)."""
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in page"
    return match.group(1) or match.group(2)


def login(client, email: str, password: str = PASSWORD):
    """Log a Flask test client (or a requests.Session with base_url) in; returns the CSRF token."""
    page = client.get("/login")
    html = page.get_data(as_text=True) if hasattr(page, "get_data") else page.text
    csrf = csrf_from(html)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf})
    assert response.status_code in (302, 303, 200), response.status_code
    home = client.get("/", follow_redirects=True) if hasattr(page, "get_data") else client.get("/", allow_redirects=True)
    html = home.get_data(as_text=True) if hasattr(home, "get_data") else home.text
    return csrf_from(html)


class LiveSession(requests.Session):
    """requests.Session with a base URL, for real servers."""

    def __init__(self, base_url: str):
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", 10)
        return super().request(method, url, *args, **kwargs)


def send(client, csrf, profile_id, body, tok=None, htmx=True, opens=False):
    """A client's message to a profile through the test client (as htmx posts it, by default;
    ``opens``: with the field the page adds when it shows no conversation yet)."""
    headers = {"X-CSRFToken": csrf}
    if htmx:
        headers.update({"HX-Request": "true", "X-Error-Target": "#send-error"})
    data = {"body": body, "client_token": tok or token()}
    if opens:
        data["opens"] = "1"
    return client.post(f"/profiles/{profile_id}/messages", data=data, headers=headers)


def post_message(session: LiveSession, csrf: str, profile_id: int, body: str):
    """A client's message to a profile on a real server (fails unless it is accepted)."""
    response = session.post(f"/profiles/{profile_id}/messages", data={"body": body, "client_token": token()},
                            headers={"X-CSRFToken": csrf, "HX-Request": "true"})
    assert response.status_code == 200, response.text
    return response
