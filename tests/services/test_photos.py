"""Photos in chat, service by service, with real files made by Pillow: what an upload may be
(refused from its header, nothing stored), the photo message going the text message's own way,
and what the job makes (orientation applied, EXIF gone, first frame, transparency on white)."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Conversation, Message, PendingClientMessage, Photo, Role, User
from app.services import events
from app.services.errors import FileRefused, Forbidden, NotFound, ValidationError
from app.services.photos import processing, records, uploads, viewing
from app.services.photos.storage import FolderStorage, variant_key
from tests.support import images
from tests.support.factories import count, make_profile, make_user, token
from tests.support.sql import recorded_statements
from tests.support.stored import english, files


@pytest.fixture
def storage(tmp_path):
    return FolderStorage(tmp_path / "photos")


@pytest.fixture
def limits(app):
    return uploads.Limits.from_config(app.config)


@pytest.fixture
def sizes(app):
    return processing.Sizes.from_config(app.config)


def client_photo(storage, limits, data, client=None, profile=None, caption="", tok=None):
    client = client or make_user()
    profile = profile or make_profile()
    db.session.remove()  # as a request does: on PostgreSQL, the usual text message is one statement of its own
    sent = uploads.send_client_photo(client.id, profile.id, data, caption, tok or token(), utcnow(), storage, limits)
    db.session.remove()
    return sent, client, profile


# -- what an upload may be ---------------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    (b"", "The file is empty."),
    (images.png_bomb(), "The image is too large"),  # a real 13,000 x 13,000 PNG of some 20 KB
    (images.png_header_only(30_000, 30_000), "The image is too large"),  # a header alone, claiming 900 MP
    (images.animated_gif(), "Animated images are not accepted"),
    (images.PDF, "not an image we can read"),  # whatever name it came with
    (images.SVG, "not an image we can read"),  # with a script inside
    (b"\xff\xd8\xff\xe0 not really a JPEG", "not an image we can read"),
])
def test_what_must_not_be_decoded_is_refused_and_nothing_is_stored(ctx, storage, limits, data, message):
    with pytest.raises(FileRefused) as refused:
        client_photo(storage, limits, data)
    assert message in english(refused.value.message)
    assert refused.value.status_code == 400
    assert files(storage) == [] and count(Photo) == 0 and count(Message) == 0


def test_an_upload_over_the_byte_limit_is_refused(ctx, storage):
    data = images.jpeg()
    with pytest.raises(FileRefused) as refused:
        client_photo(storage, uploads.Limits(len(data) - 1, 16_000_000, 8000), data)
    assert "The image must be at most" in english(refused.value.message)
    assert files(storage) == [] and count(Message) == 0


def test_the_decompression_limit_is_below_pillows_default_and_applies_to_photos(app, ctx, storage):
    assert Image.MAX_IMAGE_PIXELS == app.config["IMAGE_MAX_PIXELS"] < 89_478_485
    below = uploads.Limits(10 * 1024 * 1024, 199 * 99, 8000)
    with pytest.raises(FileRefused):
        client_photo(storage, below, images.jpeg(images.halves(200, 100)))
    sent, _, _ = client_photo(storage, uploads.Limits(10 * 1024 * 1024, 200 * 100, 8000),
                              images.jpeg(images.halves(200, 100)))
    assert sent.to_process is not None


# -- the send path -----------------------------------------------------------------------------

def test_a_client_photo_goes_the_text_message_way_assignment_pending_and_counters(ctx, storage, limits):
    moderator = make_user(Role.MODERATOR, online=True)
    sent, client, profile = client_photo(storage, limits, images.camera_jpeg(), caption="  me at the beach ")
    message = db.session.get(Message, sent.posted.message.id)
    conversation = message.conversation
    assert conversation.assigned_moderator_id == moderator.id  # assigned, like a first text message
    assert conversation.pending_count == 1 and conversation.awaiting_reply_since is not None
    assert db.session.scalar(select(PendingClientMessage.message_id)) == message.id
    assert message.body == "me at the beach" and message.photo_id == sent.to_process
    photo = message.photo
    assert photo.state == "pending" and photo.uploader_id == client.id and photo.conversation_id == conversation.id
    assert storage.read(photo.original_key) == images.camera_jpeg()  # stored as it came, until the job

    # the usual case after that (a conversation held and active) takes the same path with a photo
    again, _, _ = client_photo(storage, limits, images.jpeg(), client=client, profile=profile)
    db.session.expire_all()
    assert db.session.get(Conversation, conversation.id).pending_count == 2
    assert db.session.get(Message, again.posted.message.id).photo.state == "pending"
    assert count(Photo) == 2 and count(PendingClientMessage) == 2


def test_a_photo_needs_no_caption_but_a_message_without_photo_needs_text(ctx, storage, limits):
    from app.services import sending

    sent, client, profile = client_photo(storage, limits, images.jpeg(), caption="")
    assert db.session.get(Message, sent.posted.message.id).body == ""
    with pytest.raises(ValidationError):
        sending.send_client_message(client.id, profile.id, "  ", token(), utcnow())


def test_a_resend_of_a_photo_message_stores_it_once(ctx, storage, limits):
    tok = token()
    first, client, profile = client_photo(storage, limits, images.jpeg(), tok=tok)
    stored = files(storage)
    second, _, _ = client_photo(storage, limits, images.camera_jpeg(), client=client, profile=profile, tok=tok)
    assert second.to_process is None and second.posted.created is False
    assert second.posted.message.id == first.posted.message.id
    assert files(storage) == stored and count(Photo) == 1 and count(Message) == 1


def test_a_photo_to_a_conversation_one_may_not_use_stores_nothing(ctx, storage, limits):
    sent, client, profile = client_photo(storage, limits, images.jpeg())
    conversation_id = sent.posted.message.conversation_id
    stored = files(storage)
    stranger = make_user(Role.MODERATOR, online=True)
    with pytest.raises(Forbidden):
        uploads.send_profile_photo(db.session.get(User, stranger.id), conversation_id, images.jpeg(), "", token(),
                                   utcnow(), storage, limits)
    with pytest.raises(NotFound):  # a client writing to a profile that does not exist
        uploads.send_client_photo(client.id, 987_654, images.jpeg(), "", token(), utcnow(), storage, limits)
    db.session.remove()
    assert files(storage) == stored and count(Photo) == 1 and count(Message) == 1


def test_a_moderator_photo_answers_the_conversation(ctx, storage, limits):
    moderator = make_user(Role.MODERATOR, online=True)
    sent, _, _ = client_photo(storage, limits, images.jpeg(), caption="look")
    conversation_id = sent.posted.message.conversation_id
    answer = uploads.send_profile_photo(db.session.get(User, moderator.id), conversation_id, images.camera_jpeg(),
                                        "", token(), utcnow(), storage, limits)
    db.session.remove()
    conversation = db.session.get(Conversation, conversation_id)
    assert answer.to_process and conversation.awaiting_reply_since is None and conversation.pending_count == 0
    assert db.session.get(Message, answer.posted.message.id).photo.uploader_id == moderator.id


# -- what the job makes ------------------------------------------------------------------------

def processed(storage, sizes, sent) -> Photo:
    assert processing.process(sent.to_process, storage, sizes, utcnow()) == "ready"
    db.session.remove()
    return db.session.get(Photo, sent.to_process)


def test_the_camera_orientation_is_applied_and_exif_is_dropped(ctx, storage, limits, sizes):
    sent, _, _ = client_photo(storage, limits, images.camera_jpeg(orientation=6))
    photo = processed(storage, sizes, sent)
    assert (photo.width, photo.height) == (200, 400)  # stood up: a quarter turn clockwise
    for variant in ("display", "thumb"):
        data = storage.read(variant_key(photo.id, variant))
        made = Image.open(io.BytesIO(data))
        assert made.format == "JPEG" and made.height > made.width
        top, bottom = made.getpixel((made.width // 2, 5)), made.getpixel((made.width // 2, made.height - 5))
        assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]  # the left (red) side is now on top
        assert len(made.getexif()) == 0 and b"SecretCam" not in data and b"Exif" not in data
    assert max(photo.thumb_width, photo.thumb_height) <= sizes.thumb


def test_a_large_photo_is_scaled_down_to_both_sizes(ctx, storage, limits, sizes):
    sent, _, _ = client_photo(storage, limits, images.jpeg(images.halves(4000, 3000)))
    photo = processed(storage, sizes, sent)
    assert (photo.width, photo.height) == (sizes.display, sizes.display * 3 // 4)
    assert (photo.thumb_width, photo.thumb_height) == (sizes.thumb, sizes.thumb * 3 // 4)


def test_a_camera_mpo_gives_its_first_picture(ctx, storage, limits, sizes):
    sent, _, _ = client_photo(storage, limits, images.mpo())
    photo = processed(storage, sizes, sent)
    pixel = Image.open(io.BytesIO(storage.read(variant_key(photo.id, "display")))).getpixel((100, 50))
    assert pixel[1] > 150 > pixel[0]  # green, the first picture


def test_transparency_becomes_white(ctx, storage, limits, sizes):
    sent, _, _ = client_photo(storage, limits, images.transparent_png())
    photo = processed(storage, sizes, sent)
    made = Image.open(io.BytesIO(storage.read(variant_key(photo.id, "display"))))
    assert made.getpixel((100, 40))[0] > 240 and made.getpixel((100, 40))[1] > 240  # was transparent
    assert made.getpixel((20, 40))[1] > 150 > made.getpixel((20, 40))[0]


def test_a_file_whose_pixels_cannot_be_read_fails_once_and_says_so(ctx, storage, limits, sizes):
    sent, _, _ = client_photo(storage, limits, images.truncated_jpeg())
    db.session.info.pop("switchboard_events", None)
    assert processing.process(sent.to_process, storage, sizes, utcnow()) == "failed: unreadable"
    assert processing.process(sent.to_process, storage, sizes, utcnow()) == "already failed"
    assert db.session.get(Photo, sent.to_process).state == "failed"
    assert not storage.exists(variant_key(sent.to_process, "thumb"))


def test_the_job_is_idempotent_and_its_push_follows_once(ctx, storage, limits, sizes):
    sent, _, _ = client_photo(storage, limits, images.jpeg())
    seen = []
    events.subscribe(seen.append)
    try:
        processed(storage, sizes, sent)
        assert processing.process(sent.to_process, storage, sizes, utcnow() + timedelta(seconds=1)) == "already ready"
    finally:
        events.unsubscribe(seen.append)
    assert [e for batch in seen for e in batch] == [events.PhotoProcessed(sent.to_process)]
    # two runs at once: the second to finish changes nothing (a compare-and-set on the state)
    with write_transaction():
        assert records.finish(sent.to_process, None, utcnow()) is False
    assert db.session.get(Photo, sent.to_process).state == "ready"


def test_storage_keys_stay_inside_its_folder_and_ids_are_checked_before_any_query(ctx, storage):
    for key in ("../outside", "/etc/passwd", "originals/../../x"):
        with pytest.raises(ValueError):
            storage.path(key)
    viewer = db.session.get(User, make_user(Role.ADMIN).id)
    with recorded_statements(db.engine) as statements:
        for photo_id in ("../../etc", "a/b", "x" * 33, ""):
            with pytest.raises(NotFound):
                viewing.viewable_photo(viewer, photo_id)
    assert statements == []


# -- who may see it ----------------------------------------------------------------------------

def test_only_the_client_the_holding_moderator_and_admins_see_a_photo(ctx, storage, limits):
    moderator, other_moderator = make_user(Role.MODERATOR, online=True), make_user(Role.MODERATOR)
    admin, other_client = make_user(Role.ADMIN), make_user()
    sent, client, _ = client_photo(storage, limits, images.jpeg())

    def sees(user) -> bool:
        try:
            return viewing.viewable_photo(db.session.get(User, user.id), sent.to_process).id == sent.to_process
        except Forbidden:
            return False

    assert [sees(u) for u in (client, moderator, admin, other_client, other_moderator)] == \
        [True, True, True, False, False]
    with pytest.raises(NotFound):
        viewing.viewable_photo(db.session.get(User, client.id), "a" * 22)
    with pytest.raises(NotFound):
        viewing.photo_file(db.session.get(User, client.id), sent.to_process, "original", storage)
    with pytest.raises(NotFound):  # not made yet
        viewing.photo_file(db.session.get(User, client.id), sent.to_process, "thumb", storage)
