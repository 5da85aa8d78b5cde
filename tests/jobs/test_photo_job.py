"""A photo sent from the composer is made by the real RQ worker: the job writes its sizes, and the
thumbnail is pushed to both sides (the client and the moderator holding the conversation), each in
their own language, in place of the placeholder."""
import io

from app.extensions import db
from app.models import Photo, Role
from app.redis_client import get_redis, names
from tests.support import images
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user, token
from tests.support.http import login
from tests.support.processes import run_job
from tests.support.waiting import first_published


def _state(photo_id: str) -> str:
    with app_context():
        db.session.expire_all()
        return db.session.get(Photo, photo_id).state


def test_the_worker_makes_the_thumbnail_and_both_sides_receive_it(app, client, rq_worker):
    moderator = make_user(Role.MODERATOR, online=True, locale="de")
    customer, profile = make_user(locale="en"), make_profile()
    csrf = login(client, customer.email)
    with app_context():
        r = get_redis()
        channels = {who.id: names().user_channel(who.id) for who in (customer, moderator)}
    listeners = {}
    for user_id, channel in channels.items():
        listeners[user_id] = r.pubsub(ignore_subscribe_messages=True)
        listeners[user_id].subscribe(channel)
    try:
        response = client.post(f"/profiles/{profile.id}/messages", content_type="multipart/form-data",
                               data={"body": "", "client_token": token(),
                                     "photo": (io.BytesIO(images.camera_jpeg()), "IMG_0001.JPG")},
                               headers={"X-CSRFToken": csrf, "HX-Request": "true"})
        assert response.status_code == 200
        photo_id = response.get_data(as_text=True).split('id="photo-', 1)[1].split('"', 1)[0]
        needle = f'src="/photos/{photo_id}/thumb"'
        pushed = {user_id: first_published(listener, needle, timeout=20) for user_id, listener in listeners.items()}
    finally:
        for listener in listeners.values():
            listener.close()
    for fragment in pushed.values():
        assert f'id="photo-{photo_id}" hx-swap-oob="true"' in fragment and "data-lightbox" in fragment
    assert 'alt="Photo (opens larger)"' in pushed[customer.id]
    assert 'alt="Photo (opens larger)"' not in pushed[moderator.id]  # German
    assert _state(photo_id) == "ready"
    assert client.get(f"/photos/{photo_id}/thumb").status_code == 200

    from app.jobs.photos import process_photo

    assert run_job("default", process_photo, photo_id) == f"photo {photo_id}: already ready"  # idempotent
