"""Addresses with an id built in templates (``url_for_id``): the same as ``url_for``'s, under any mount point."""
import pytest
from flask import render_template_string, url_for


def _both(app, conversation_id, script_root=""):
    with app.test_request_context("/", base_url=f"http://localhost{script_root}/"):
        fast = render_template_string("{{ url_for_id('moderator.conversation', conversation_id=i) }}", i=conversation_id)
        return fast, url_for("moderator.conversation", conversation_id=conversation_id)


def test_the_address_is_url_fors_for_every_id(app):
    for conversation_id in (1, 7, 42, 10_000, 2**40):
        fast, slow = _both(app, conversation_id)
        assert fast == slow == f"/moderateur/c/{conversation_id}"


def test_the_address_follows_the_applications_mount_point(app):
    assert _both(app, 5) == ("/moderateur/c/5", "/moderateur/c/5")
    assert _both(app, 5, "/sb") == ("/sb/moderateur/c/5", "/sb/moderateur/c/5")
    assert _both(app, 6) == ("/moderateur/c/6", "/moderateur/c/6")


def test_an_id_that_is_not_a_number_is_refused(app):
    with app.test_request_context("/"), pytest.raises(ValueError):
        render_template_string("{{ url_for_id('moderator.conversation', conversation_id='5/../../admin') }}")
