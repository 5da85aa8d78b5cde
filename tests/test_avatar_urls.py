"""Avatar addresses in templates: the upload's or the default picture's, under any mount point."""
from types import SimpleNamespace

from flask import render_template_string


def _avatar(app, filename, script_root=""):
    with app.test_request_context("/", base_url=f"http://localhost{script_root}/"):
        return render_template_string("{{ avatar_url(p) }}", p=SimpleNamespace(avatar_filename=filename))


def test_a_profile_without_upload_shows_the_default_picture(app):
    assert _avatar(app, None) == "/static/img/avatar.svg"


def test_an_uploaded_picture_has_its_own_address_and_a_new_upload_a_new_one(app):
    assert _avatar(app, "abc.webp") == "/avatars/abc.webp"
    assert _avatar(app, "def.webp") == "/avatars/def.webp"
    assert _avatar(app, None) == "/static/img/avatar.svg"


def test_the_address_follows_the_applications_mount_point(app):
    """Served under /sb (a reverse proxy's prefix), the same pictures live under /sb: an address
    rendered before at the root is not reused."""
    assert _avatar(app, "abc.webp") == "/avatars/abc.webp"
    assert _avatar(app, "abc.webp", "/sb") == "/sb/avatars/abc.webp"
    assert _avatar(app, None, "/sb") == "/sb/static/img/avatar.svg"
    assert _avatar(app, None) == "/static/img/avatar.svg"
