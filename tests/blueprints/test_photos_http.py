"""Photos over HTTP: sending one from the composer (refusals answered in the composer, nothing
stored), and who may fetch it: the conversation's client, the moderator holding it now, admins."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import update

from app.database import write_transaction
from app.extensions import db
from app.jobs.photos import process_photo
from app.models import Conversation, Message, Photo, ProfileAssignment, Role
from tests.support import images
from tests.support.context import app_context
from tests.support.factories import count, make_profile, make_user, token
from tests.support.http import login


def send_photo(client, csrf, profile_id, data: bytes, name: str = "photo.jpg", caption: str = "", tok=None):
    return client.post(f"/profiles/{profile_id}/messages", content_type="multipart/form-data",
                       data={"body": caption, "client_token": tok or token(), "photo": (io.BytesIO(data), name)},
                       headers={"X-CSRFToken": csrf, "HX-Request": "true", "X-Error-Target": "#send-error",
                                "Accept-Language": "en"})


def stored_files(app, under: str = "") -> set[Path]:
    folder = Path(app.config["PHOTO_DIR"]) / under
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def photo_id_of(html: str) -> str:
    return html.split('id="photo-', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("data, name, message", [
    (images.png_bomb(), "bomb.png", "The image is too large"),
    (images.PDF, "holiday.jpg", "not an image we can read"),
    (images.SVG, "drawing.png", "not an image we can read"),
    (images.animated_gif(), "funny.gif", "Animated images are not accepted"),
    (b"", "empty.jpg", "The file is empty."),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "broken.jpg", "not an image we can read"),
    (b"x" * (10 * 1024 * 1024 + 1), "huge.jpg", "The image must be at most 10 MB."),
])
def test_a_refused_upload_answers_400_in_the_composer_and_stores_nothing(app, client, data, name, message):
    csrf = login(client, make_user().email)
    profile = make_profile()
    before = stored_files(app)
    response = send_photo(client, csrf, profile.id, data, name)
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#send-error"
    assert message in response.get_data(as_text=True)
    assert stored_files(app) == before and count(Photo) == 0 and count(Message) == 0


def test_a_request_past_the_body_limit_is_413_in_the_composer(app, client):
    csrf = login(client, make_user().email)
    response = send_photo(client, csrf, make_profile().id, b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    assert response.status_code == 413
    assert response.headers["HX-Retarget"] == "#send-error"
    assert "The upload is too large." in response.get_data(as_text=True)
    assert count(Message) == 0


def test_a_photo_for_a_conversation_one_may_not_use_is_refused_and_nothing_is_stored(app, client):
    csrf = login(client, make_user().email)
    profile = make_profile()
    response = send_photo(client, csrf, profile.id, images.jpeg())
    assert response.status_code == 200
    conversation_id = _conversation_id(profile.id)
    # Uploads only: a worker left running by another test may be making the first photo's sizes.
    before = stored_files(app, "originals")
    assert send_photo(client, csrf, 987_654, images.jpeg()).status_code == 404  # no such profile

    stranger = app.test_client()
    stranger_csrf = login(stranger, make_user(Role.MODERATOR, online=True).email)
    response = stranger.post(f"/moderateur/c/{conversation_id}/messages", content_type="multipart/form-data",
                             data={"body": "", "client_token": token(), "photo": (io.BytesIO(images.jpeg()), "a.jpg")},
                             headers={"X-CSRFToken": stranger_csrf, "HX-Request": "true",
                                      "X-Error-Target": "#send-error", "Accept-Language": "en"})
    assert response.status_code == 403 and "not assigned to you" in response.get_data(as_text=True)
    assert stored_files(app, "originals") == before and count(Photo) == 1 and count(Message) == 1


def _conversation_id(profile_id: int) -> int:
    with app_context():
        return db.session.query(Conversation.id).filter_by(profile_id=profile_id).scalar()


def test_a_photo_message_shows_the_placeholder_then_the_thumbnail(app, client):
    csrf = login(client, make_user().email)
    profile = make_profile()
    response = send_photo(client, csrf, profile.id, images.camera_jpeg(), caption="sunset")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "sunset" in html and "Photo being prepared" in html
    photo_id = photo_id_of(html)
    assert 'hx-trigger="every 15s"' in html  # asks again in case the push is missed
    assert client.get(f"/photos/{photo_id}/thumb").status_code == 404  # not made yet

    with app.app_context():
        assert process_photo(photo_id) == f"photo {photo_id}: ready"
    figure = client.get(f"/photos/{photo_id}").get_data(as_text=True)
    assert f"/photos/{photo_id}/thumb" in figure and "data-lightbox" in figure and "hx-trigger" not in figure
    page = client.get(f"/profiles/{profile.id}").get_data(as_text=True)
    assert f'src="/photos/{photo_id}/thumb"' in page and "sunset" in page
    thumb = client.get(f"/photos/{photo_id}/thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert thumb.headers["Cache-Control"] == "private, no-cache"
    assert client.get(f"/photos/{photo_id}/display").status_code == 200
    assert client.get(f"/photos/{photo_id}/original").status_code == 404  # the original is never served


def test_a_photo_is_served_to_its_client_its_current_moderator_and_admins_only(app, client):
    moderator = make_user(Role.MODERATOR, online=True)
    csrf = login(client, make_user().email)
    profile = make_profile()
    photo_id = photo_id_of(send_photo(client, csrf, profile.id, images.jpeg()).get_data(as_text=True))
    with app.app_context():
        process_photo(photo_id)

    def status(user, path=f"/photos/{photo_id}/thumb") -> int:
        other = app.test_client()
        login(other, user.email)
        return other.get(path, headers={"Accept-Language": "en"}).status_code

    assert client.get(f"/photos/{photo_id}/thumb").status_code == 200
    assert status(moderator) == 200 and status(make_user(Role.ADMIN)) == 200
    assert status(make_user()) == 403  # another client
    assert status(make_user(Role.MODERATOR, online=True)) == 403  # a moderator not holding it
    assert status(make_user(), f"/photos/{photo_id}") == 403  # nor its figure
    assert app.test_client().get(f"/photos/{photo_id}/thumb").status_code in (302, 401)  # nobody logged in

    # the profile moves to another moderator: the first one sees it no more, the new one does
    newcomer = make_user(Role.MODERATOR, online=True)
    with app_context():
        with write_transaction():
            db.session.execute(update(ProfileAssignment).where(ProfileAssignment.profile_id == profile.id)
                               .values(moderator_id=newcomer.id))
    assert status(moderator) == 403 and status(newcomer) == 200


def test_a_moderator_sends_a_photo_as_the_profile(app, client):
    moderator = make_user(Role.MODERATOR, online=True)
    csrf = login(client, make_user().email)
    profile = make_profile()
    assert client.post(f"/profiles/{profile.id}/messages", data={"body": "hello?", "client_token": token()},
                       headers={"X-CSRFToken": csrf, "HX-Request": "true"}).status_code == 200
    conversation_id = _conversation_id(profile.id)
    moderator_client = app.test_client()
    moderator_csrf = login(moderator_client, moderator.email)
    response = moderator_client.post(
        f"/moderateur/c/{conversation_id}/messages", content_type="multipart/form-data",
        data={"body": "", "client_token": token(), "photo": (io.BytesIO(images.jpeg()), "me.jpg")},
        headers={"X-CSRFToken": moderator_csrf, "HX-Request": "true"})
    assert response.status_code == 200 and 'class="msg mine"' in response.get_data(as_text=True)
    photo_id = photo_id_of(response.get_data(as_text=True))
    with app.app_context():
        process_photo(photo_id)
    assert client.get(f"/photos/{photo_id}/display").status_code == 200  # the client sees the profile's photo
    with app_context():
        assert db.session.get(Conversation, conversation_id).awaiting_reply_since is None  # answered
