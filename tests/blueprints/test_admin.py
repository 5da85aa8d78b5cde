"""Admin pages: users, profiles with avatar upload, overview."""
import io
from pathlib import Path
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from PIL import Image

from app.database import write_transaction
from app.extensions import db
from app.models import Conversation, Message, Profile, Role, User
from tests.support.context import app_context
from tests.support.factories import count, make_profile, make_user
from tests.support.http import csrf_from, login
from tests.support.processes import run_job
from tests.support.waiting import wait_until


def admin_client(app):
    client = app.test_client()
    admin = make_user(Role.ADMIN)
    return client, login(client, admin.email), admin


def png_bytes(size=(800, 600), color=(200, 40, 90)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def test_admin_creates_a_moderator_and_disables_a_user(app):
    client, csrf, _ = admin_client(app)
    response = client.post("/admin/users", data={"csrf_token": csrf, "display_name": "Nadia", "email": "nadia@example.test",
                                                  "password": "long-enough-1", "role": "moderator", "locale": "en"})
    assert response.status_code == 302
    with app_context():
        nadia = User.query.filter_by(email="nadia@example.test").one()
        assert nadia.role == Role.MODERATOR and nadia.locale == "en"
        nadia_id = nadia.id
    response = client.post(f"/admin/users/{nadia_id}/active", data={"csrf_token": csrf, "active": "0"})
    assert response.status_code == 302
    with app_context():
        assert db.session.get(User, nadia_id).active is False


def test_a_disabled_user_is_logged_out_at_their_next_request(app):
    """Disabling takes effect at once: the open session no longer lets the client in or send."""
    client, csrf, _ = admin_client(app)
    customer, profile = make_user(), make_profile()
    customer_client = app.test_client()
    csrf_c = login(customer_client, customer.email)
    first = customer_client.post(f"/profiles/{profile.id}/messages", data={"body": "hello", "client_token": "t0"},
                                 headers={"X-CSRFToken": csrf_c, "HX-Request": "true"})
    assert first.status_code == 200  # a conversation they have: the usual path is the one refused below
    client.post(f"/admin/users/{customer.id}/active", data={"csrf_token": csrf, "active": "0"})
    page = customer_client.get("/profiles")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    sent = customer_client.post(f"/profiles/{profile.id}/messages", data={"body": "still here?", "client_token": "t1"},
                                headers={"X-CSRFToken": csrf_c, "HX-Request": "true",
                                         "HX-Current-URL": f"http://localhost/profiles/{profile.id}"})
    assert sent.status_code == 401  # htmx: the whole page goes to the login form, not a fragment
    assert sent.headers["HX-Redirect"] == f"/login?next=%2Fprofiles%2F{profile.id}"
    assert count(Message) == 1


def test_admin_user_form_errors_keep_what_was_typed(app):
    client, csrf, _ = admin_client(app)
    response = client.post("/admin/users", data={"csrf_token": csrf, "display_name": "Bob", "email": "not-an-email",
                                                  "password": "long-enough-1", "role": "moderator"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Enter a valid e-mail address." in html
    assert 'value="Bob"' in html
    assert count(User, display_name="Bob") == 0


def test_disabling_a_moderator_releases_their_conversations(app):
    client, csrf, _ = admin_client(app)
    moderator = make_user(Role.MODERATOR, online=True)
    customer, profile = make_user(), make_profile()
    customer_client = app.test_client()
    csrf_c = login(customer_client, customer.email)
    customer_client.post(f"/profiles/{profile.id}/messages", data={"body": "hi", "client_token": "t1"},
                         headers={"X-CSRFToken": csrf_c, "HX-Request": "true"})
    client.post(f"/admin/users/{moderator.id}/active", data={"csrf_token": csrf, "active": "0"})
    with app_context():
        conversation = Conversation.query.one()
        assert conversation.assigned_moderator_id is None and conversation.is_waiting


def test_profile_create_with_avatar_reencoded_square_jpeg_by_the_worker(app, rq_worker):
    """The web process stores the upload as it came (not served) and shows the placeholder; the
    real worker's job decodes it, swaps the square JPEG in and removes the original."""
    client, csrf, _ = admin_client(app)
    response = client.post("/admin/profiles/new", content_type="multipart/form-data", data={
        "csrf_token": csrf, "name": "Zoé", "age": "27", "city": "Lyon", "bio": "Hello",
        "avatar": (io.BytesIO(png_bytes()), "photo.png"),
    })
    assert response.status_code == 302
    originals = Path(app.config["UPLOAD_DIR"]) / "avatar-originals"

    def profile_now():
        with app_context():
            db.session.expire_all()
            stored = Profile.query.filter_by(name="Zoé").one()
            return stored.id, stored.avatar_filename, stored.avatar_pending

    profile_id, filename, pending = profile_now()
    if filename is None:  # the worker may already have been quicker than this read
        assert (originals / pending).read_bytes() == png_bytes()
        assert client.get(f"/avatars/../avatar-originals/{pending}").status_code == 404
    filename = wait_until(lambda: profile_now()[1], timeout=20)
    assert filename.endswith(".jpg") and profile_now()[2] is None
    served = client.get(f"/avatars/{filename}")
    assert served.status_code == 200
    image = Image.open(io.BytesIO(served.data))
    assert image.format == "JPEG" and image.size == (512, 512)
    assert not list(originals.glob(f"{profile_id}-*"))  # the original is gone once processed


def test_profile_bad_input_is_a_clear_422_and_nothing_changes(app):
    client, csrf, _ = admin_client(app)
    profile = make_profile("Ana", 30)
    response = client.post(f"/admin/profiles/{profile.id}", content_type="multipart/form-data", data={
        "csrf_token": csrf, "name": "Ana", "age": "12", "city": "", "bio": "", "active": "1"})
    assert response.status_code == 422
    response = client.post(f"/admin/profiles/{profile.id}", content_type="multipart/form-data", data={
        "csrf_token": csrf, "name": "Ana B", "age": "30", "city": "", "bio": "", "active": "1",
        "avatar": (io.BytesIO(b"not an image at all"), "evil.png")})
    assert response.status_code == 400
    assert "not an image" in response.get_data(as_text=True)
    with app_context():
        stored = db.session.get(Profile, profile.id)
        assert stored.name == "Ana" and stored.age == 30 and stored.avatar_filename is None
    assert client.post("/admin/profiles/99999", data={"csrf_token": csrf}).status_code == 404


def test_overview_shows_online_moderators_and_waiting_messages(app):
    client, _, _ = admin_client(app)
    make_user(Role.MODERATOR, online=True, display_name="Online Olga")
    html = client.get("/admin/").get_data(as_text=True)
    assert "Online Olga" in html
    assert "normal priority" in html and "high priority" in html  # the queues, named in the reader's language


def test_overview_shows_the_last_check_time_as_the_other_times(app, rq_worker):
    """The monitoring pass's time in the admin's zone and language, not the stored UTC ISO string."""
    from app.jobs.monitoring import monitor_assignments

    client, _, _ = admin_client(app)
    checked_at = run_job("default", monitor_assignments)["checked_at"]
    html = client.get("/admin/").get_data(as_text=True)
    local = (datetime.fromisoformat(checked_at).replace(tzinfo=timezone.utc)
             .astimezone(ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])).replace(second=0))
    assert checked_at not in html
    assert f"At {format_datetime(local, 'short', locale='en')}: 0 orphan conversation(s) assigned" in html


def test_users_page_names_roles_in_the_admins_language(app):
    client = app.test_client()
    login(client, make_user(Role.ADMIN, locale="fr").email)
    make_user(Role.MODERATOR, display_name="Mona")
    html = client.get("/admin/users").get_data(as_text=True)
    assert '<td class="user-name">Mona</td>' in html
    assert '<td data-label="Rôle">Modérateur</td>' in html and ">moderator</td>" not in html
    assert '<option value="moderator" selected>Modérateur</option>' in html  # the creation form
    filtered = client.get("/admin/users?role=admin").get_data(as_text=True)
    assert 'aria-current="page">Administrateur</a>' in filtered


def test_moderator_cannot_reach_admin(app):
    client = app.test_client()
    login(client, make_user(Role.MODERATOR).email)
    assert client.get("/admin/users").status_code == 403
    page = client.get("/moderateur/")
    assert page.status_code == 200 and csrf_from(page.get_data(as_text=True))


def test_the_users_page_shows_each_moderators_last_heartbeat(app):
    client, _, _ = admin_client(app)
    beat = datetime(2026, 11, 23, 9, 41)
    moderator = make_user(Role.MODERATOR, email="beating@example.test")
    with app_context():
        with write_transaction():
            db.session.get(User, moderator.id).last_heartbeat_at = beat
    html = client.get("/admin/users").get_data(as_text=True)
    shown = format_datetime(beat.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])),
                            "short", locale="en")
    row = html[html.index("beating@example.test"):]
    row = row[:row.index("</tr>")]
    assert "Last heartbeat" in html and shown in row
