"""Lock status and unlock requests: a moderator asks, an admin grants, the lock is gone."""
import re
from datetime import timedelta

from app.database import write_transaction
from app.models import ProfileLock, Role, UnlockRequest
from app.clock import utcnow
from app.services import locks
from tests.support.context import app_context
from tests.support.factories import count, make_profile, make_user
from tests.support.http import login


def test_moderator_sees_locks_and_admin_grants_an_unlock(app):
    holder, asker, admin = make_user(Role.MODERATOR), make_user(Role.MODERATOR), make_user(Role.ADMIN)
    profile = make_profile("Léa")
    with app_context(), write_transaction():
        locks.lock_profile(profile.id, holder.id, utcnow())

    moderator = app.test_client()
    csrf = login(moderator, asker.email)
    status = moderator.get("/moderateur/locks/status").get_data(as_text=True)
    assert "Léa" in status and holder.display_name in status and "Ask an admin to unlock" in status
    response = moderator.post("/moderateur/locks/request-unlock", data={"profile_id": profile.id, "reason": "stuck"},
                              headers={"X-CSRFToken": csrf, "HX-Request": "true"})
    assert response.status_code == 200 and "Unlock requested" in response.get_data(as_text=True)
    moderator.post("/moderateur/locks/request-unlock", data={"profile_id": profile.id},
                   headers={"X-CSRFToken": csrf, "HX-Request": "true"})
    assert count(UnlockRequest) == 1           # asking twice keeps one pending request

    admin_client = app.test_client()
    csrf_admin = login(admin_client, admin.email)
    page = admin_client.get("/admin/locks").get_data(as_text=True)
    assert "stuck" in page and "Léa" in page
    with app_context():
        request_id = UnlockRequest.query.one().id
    assert admin_client.post(f"/admin/locks/requests/{request_id}", data={"csrf_token": csrf_admin, "grant": "1"}).status_code == 302
    assert count(ProfileLock) == 0
    again = admin_client.post(f"/admin/locks/requests/{request_id}", data={"csrf_token": csrf_admin, "grant": "1"},
                              headers={"Accept-Language": "en"})
    assert again.status_code == 422 and "already decided" in again.get_data(as_text=True)


def test_unlock_request_bad_input(app):
    moderator = app.test_client()
    csrf = login(moderator, make_user(Role.MODERATOR).email)
    headers = {"X-CSRFToken": csrf, "HX-Request": "true"}
    assert moderator.post("/moderateur/locks/request-unlock", data={"profile_id": "abc"}, headers=headers).status_code == 400
    assert moderator.post("/moderateur/locks/request-unlock", data={"profile_id": "999999"}, headers=headers).status_code == 404
    client = app.test_client()
    login(client, make_user().email)
    assert client.get("/moderateur/locks/status").status_code == 403
    assert count(UnlockRequest) == 0


def test_cli_cleans_expired_locks(app):
    moderator, profile = make_user(Role.MODERATOR), make_profile()
    with app_context(), write_transaction():
        locks.lock_profile(profile.id, moderator.id, utcnow() - timedelta(seconds=600))
    runner = app.test_cli_runner()
    assert "Removed 1 expired lock(s)." in runner.invoke(args=["locks", "clean"]).output
    assert count(ProfileLock) == 0


def test_lock_types_are_shown_in_the_readers_language_not_as_codes(app):
    """An "answering" lock reads "respondiendo" on a Spanish admin's locks page and "antwortet"
    in a German moderator's locks panel; an assignment lock "asignación" / "Zuweisung"."""
    holder, reader = make_user(Role.MODERATOR), make_user(Role.MODERATOR, locale="de")
    answered, assigned = make_profile("Léa"), make_profile("Iris")
    with app_context(), write_transaction():
        locks.lock_profile(answered.id, holder.id, utcnow(), lock_type=locks.ANSWERING)
        locks.lock_profile(assigned.id, holder.id, utcnow())

    admin = app.test_client()
    login(admin, make_user(Role.ADMIN, locale="es").email)
    page = admin.get("/admin/locks").get_data(as_text=True)
    assert "<td>respondiendo</td>" in page and "<td>asignación</td>" in page
    assert "<td>answering</td>" not in page and "<td>assignment</td>" not in page

    moderator = app.test_client()
    login(moderator, reader.email)
    panel = moderator.get("/moderateur/locks/status").get_data(as_text=True)
    types = re.findall(r'<span class="lock-type">([^<]*)</span>', panel)
    assert sorted(types) == ["Zuweisung", "antwortet"]
