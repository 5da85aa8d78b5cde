"""Avatar uploads: what must not be decoded is refused from the image's header, before any
decoding, with a clear 400 and nothing stored."""
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from app.extensions import db
from app.models import Profile, Role
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user
from tests.support.http import login


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels and holds no pixel data at all: only a
    check of the header can tell anything about it but "unreadable"."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IEND", b""))


def tiny_png(width: int, height: int) -> bytes:
    """A real, complete PNG of ``width`` x ``height`` one-bit pixels, all white: a few KB."""
    buffer = io.BytesIO()
    Image.new("1", (width, height), 1).save(buffer, "PNG")
    return buffer.getvalue()


def animated_gif() -> bytes:
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (40, 40), color) for color in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def _upload(app, data: bytes, name: str = "photo.png"):
    client = app.test_client()
    admin = make_user(Role.ADMIN)
    csrf = login(client, admin.email)
    profile = make_profile("Ana", 30)
    response = client.post(f"/admin/profiles/{profile.id}", content_type="multipart/form-data",
                           headers={"Accept-Language": "en"}, data={
                               "csrf_token": csrf, "name": "Ana", "age": "30", "city": "", "bio": "", "active": "1",
                               "avatar": (io.BytesIO(data), name)})
    return response, profile.id


def _stored_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_DIR"])
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _nothing_stored(app, profile_id: int, before: list[Path]) -> None:
    with app_context():
        assert db.session.get(Profile, profile_id).avatar_filename is None
    assert _stored_files(app) == before


def test_a_13000_by_13000_png_of_20_kb_is_refused_from_its_header(app):
    data = tiny_png(13_000, 13_000)
    assert len(data) < 100_000  # the bomb: tiny on disk, 169 megapixels decoded
    before = _stored_files(app)
    response, profile_id = _upload(app, data)
    assert response.status_code == 400
    assert "The image is too large: at most 16 megapixels" in response.get_data(as_text=True)
    _nothing_stored(app, profile_id, before)


@pytest.mark.parametrize("size", [(5_000, 4_000), (9_000, 100)])  # 20 MP (under Pillow's own limit); one side too long
def test_an_image_over_the_pixel_or_side_limit_is_refused_before_it_is_decoded(app, size):
    """A file holding no pixel data at all: refused as too large, not as unreadable, so the refusal
    came from the header, before any decoding was tried."""
    before = _stored_files(app)
    response, profile_id = _upload(app, png_header_only(*size))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The image is too large" in html and "not an image we can read" not in html
    _nothing_stored(app, profile_id, before)


def test_the_limit_is_also_pillows_own_in_every_process(app):
    assert Image.MAX_IMAGE_PIXELS == app.config["IMAGE_MAX_PIXELS"] < 89_478_485  # below Pillow's default


def test_an_animated_image_is_refused(app):
    before = _stored_files(app)
    response, profile_id = _upload(app, animated_gif(), "moving.gif")
    assert response.status_code == 400
    assert "Animated images are not accepted" in response.get_data(as_text=True)
    _nothing_stored(app, profile_id, before)


def test_a_text_file_is_refused_as_not_an_image(app):
    before = _stored_files(app)
    response, profile_id = _upload(app, b"GIF89a but not really", "fake.gif")
    assert response.status_code == 400
    assert "not an image we can read" in response.get_data(as_text=True)
    _nothing_stored(app, profile_id, before)


def test_an_image_with_a_header_and_no_pixels_is_refused_as_unreadable_not_a_500(app):
    before = _stored_files(app)
    response, profile_id = _upload(app, png_header_only(100, 100))
    assert response.status_code == 400
    assert "not an image we can read" in response.get_data(as_text=True)
    _nothing_stored(app, profile_id, before)


def _rgb_png(color) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), color).save(buffer, "PNG")
    return buffer.getvalue()


def test_an_accepted_upload_shows_the_placeholder_until_its_job_swaps_the_avatar_in(app):
    """The job run here, in the test process (the worker test runs it in the real worker; the
    uploads are stored by the service, so that worker, running for the rest of the suite once a
    test started it, has no job to take): the upload is stored undecoded, the placeholder shows,
    the job swaps the avatar in; a job whose upload was replaced meanwhile swaps nothing and
    leaves no file behind."""
    from app.database import write_transaction
    from app.jobs.avatars import process_avatar
    from app.services import profiles

    client = app.test_client()
    login(client, make_user(Role.ADMIN).email)
    profile = make_profile("Ana", 30)
    originals_before, avatars_before = _files(app, "avatar-originals", profile.id), _files(app, "avatars", profile.id)

    def upload(color):
        with app_context():
            with write_transaction():
                pending = profiles.store_avatar(db.session.get(Profile, profile.id), _rgb_png(color),
                                                app.config["UPLOAD_DIR"])
            return db.session.get(Profile, profile.id).avatar_pending, (
                pending.profile_id, pending.original, pending.replaced)

    first, first_args = upload((255, 0, 0))
    second, second_args = upload((0, 0, 255))
    assert first != second and first_args == (profile.id, first, None)
    page = client.get(f"/admin/profiles/{profile.id}").get_data(as_text=True)
    assert "img/avatar.svg" in page  # the placeholder until the job has run
    with app.app_context():
        assert "not swapped in" in process_avatar(*first_args)  # replaced since: nothing swapped
        assert db.session.get(Profile, profile.id).avatar_filename is None
        assert "avatar" in process_avatar(*second_args)
        db.session.expire_all()
        stored = db.session.get(Profile, profile.id)
        assert stored.avatar_pending is None and stored.avatar_filename.endswith(".jpg")
        avatar = Image.open(Path(app.config["UPLOAD_DIR"]) / "avatars" / stored.avatar_filename)
        assert avatar.size == (512, 512) and avatar.getpixel((256, 256))[2] > 200  # the second one: blue
    # the upload folder outlives each test's database, and ids start again: other tests' files stay
    assert _files(app, "avatar-originals", profile.id) - originals_before == set()
    assert _files(app, "avatars", profile.id) - avatars_before == {stored.avatar_filename}


def _files(app, folder: str, profile_id: int) -> set[str]:
    return {p.name for p in (Path(app.config["UPLOAD_DIR"]) / folder).glob(f"{profile_id}-*")}
