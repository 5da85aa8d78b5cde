"""Images attached to support tickets go through the chat's photo pipeline: checked from their
header, stored, made into sizes by the photo job, and shown only to who may read that part of the
ticket (its opener, not on an internal note; admins). A refused image stores nothing."""
import io
from pathlib import Path

from app.extensions import db
from app.jobs.photos import process_photo
from app.models import Photo, Role, Ticket
from tests.support.context import app_context
from tests.support.factories import make_user
from tests.support.http import csrf_from, login
from tests.support.images import halves, jpeg


def files_under(app) -> list[Path]:
    return [p for p in Path(app.config["PHOTO_DIR"]).rglob("*") if p.is_file()]


def open_with_image(http, data: bytes, filename="screen.jpg", **headers):
    csrf = csrf_from(http.get("/support/new").get_data(as_text=True))
    return http.post("/support/new", data={"csrf_token": csrf, "kind": "problem", "subject": "Upload broken",
                                           "body": "See the screenshot", "photo": (io.BytesIO(data), filename)},
                     content_type="multipart/form-data", headers=headers)


def test_an_image_on_a_ticket_is_made_and_shown_to_its_opener_and_admins_only(app):
    client, other, admin = make_user(), make_user(), make_user(Role.ADMIN)
    browsers = {}
    for name, user in (("client", client), ("other", other), ("admin", admin)):
        browsers[name] = app.test_client()
        login(browsers[name], user.email)
    answer = open_with_image(browsers["client"], jpeg(halves(640, 480)))
    assert answer.status_code == 302
    with app_context():
        photo = db.session.scalars(db.select(Photo)).one()
        ticket = db.session.scalars(db.select(Ticket)).one()
        assert (photo.ticket_id, photo.ticket_comment_id, photo.conversation_id, photo.state) == (ticket.id, None,
                                                                                                 None, "pending")
        photo_id = photo.id
    process_photo(photo_id)  # the job the view enqueued
    page = browsers["client"].get(f"/support/{ticket.id}").get_data(as_text=True)
    assert f"/photos/{photo_id}/thumb" in page
    assert browsers["client"].get(f"/photos/{photo_id}/thumb").status_code == 200
    assert browsers["admin"].get(f"/photos/{photo_id}/display").status_code == 200
    assert browsers["other"].get(f"/photos/{photo_id}/thumb").status_code == 403

    # an admin's internal note with an image: admins only
    admin_http = browsers["admin"]
    csrf = csrf_from(admin_http.get(f"/admin/tickets/{ticket.id}").get_data(as_text=True))
    done = admin_http.post(f"/admin/tickets/{ticket.id}/comments", content_type="multipart/form-data", data={
        "csrf_token": csrf, "body": "Their decoder logs", "internal": "1",
        "photo": (io.BytesIO(jpeg(halves(200, 100))), "logs.jpg")})
    assert done.status_code == 302
    with app_context():
        note_photo = db.session.scalars(db.select(Photo).where(Photo.ticket_comment_id.is_not(None))).one().id
    process_photo(note_photo)
    assert admin_http.get(f"/photos/{note_photo}/thumb").status_code == 200
    assert browsers["client"].get(f"/photos/{note_photo}/thumb").status_code == 403
    assert f"/photos/{note_photo}/" not in browsers["client"].get(f"/support/{ticket.id}").get_data(as_text=True)


def test_a_file_that_is_no_image_is_refused_and_nothing_is_stored(app):
    client = make_user(locale="fr")
    http = app.test_client()
    login(http, client.email)
    before = files_under(app)
    answer = open_with_image(http, b"%PDF-1.7 not an image at all" * 10, "notes.pdf")
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert "Ce fichier n&#39;est pas une image lisible" in html and "Upload broken" in html  # the refusal, and the form as typed
    with app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Ticket)) == 0
        assert db.session.scalar(db.select(db.func.count()).select_from(Photo)) == 0
    assert files_under(app) == before
    # a good image with a ticket refused (no subject): its stored file goes too
    csrf = csrf_from(http.get("/support/new").get_data(as_text=True))
    refused = http.post("/support/new", content_type="multipart/form-data", data={
        "csrf_token": csrf, "kind": "problem", "subject": "", "body": "x",
        "photo": (io.BytesIO(jpeg(halves(64, 64))), "fine.jpg")})
    assert refused.status_code == 422
    assert files_under(app) == before
