"""Templates see every global the app registers, taken once per template as a plain dict."""
import pytest
from flask import Flask

from app import create_app
from app.config import TestConfig

REGISTERED = ("url_for", "csrf_token", "_", "gettext", "ngettext", "avatar_url", "answering_lock", "role_label",
              "reason_label", "lock_label", "conflict_label", "g", "request")


def test_every_global_the_app_registers_is_in_each_template(app):
    template = app.jinja_env.get_template("partials/_message.html")
    assert type(template.globals) is dict  # not Jinja's ChainMap, copied into every render
    for name in REGISTERED:
        assert template.globals[name] is app.jinja_env.globals[name]


def test_pages_and_fragments_render_with_them(app, client):
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="csrf_token"' in html and 'href="/signup"' in html  # csrf_token() and url_for()


def test_no_global_can_be_added_once_the_app_served_a_request():
    """What a dict taken when a template loads relies on: Flask refuses new globals once the app
    served a request (and the app loads no template before)."""
    fresh: Flask = create_app(TestConfig)
    fresh.test_client().get("/login")
    with pytest.raises(AssertionError):
        fresh.add_template_global(lambda: "late", "late")
