from app.database import write_transaction
from app.models import AssignmentConflict, Role
from app.clock import utcnow
from app.services import conflicts
from tests.support.context import app_context
from tests.support.factories import count, make_user
from tests.support.http import login


def test_conflicts_page_is_for_admins_and_resolves_with_a_note(app):
    with app_context(), write_transaction():
        conflict_id = conflicts.record("claim_race", utcnow(), detail="seen twice").id
    moderator = app.test_client()
    login(moderator, make_user(Role.MODERATOR).email)
    assert moderator.get("/moderateur/conflicts/resolve").status_code == 403

    admin = app.test_client()
    csrf = login(admin, make_user(Role.ADMIN).email)
    page = admin.get("/moderateur/conflicts/resolve").get_data(as_text=True)
    assert "Claimed twice at once" in page and "claim_race" not in page and "seen twice" in page
    empty_note = admin.post("/moderateur/conflicts/resolve", data={"csrf_token": csrf, "conflict_id": conflict_id,
                                                                   "note": ""})
    assert empty_note.status_code == 422
    assert admin.post("/moderateur/conflicts/resolve", data={"csrf_token": csrf, "conflict_id": "x"}).status_code == 400
    done = admin.post("/moderateur/conflicts/resolve", data={"csrf_token": csrf, "conflict_id": conflict_id,
                                                             "note": "checked by hand"})
    assert done.status_code == 302
    assert count(AssignmentConflict, resolution="checked by hand") == 1
    listing = admin.get("/admin/conflicts").get_data(as_text=True)
    assert "checked by hand" in listing and ">Claimed twice at once</a>" in listing


def test_assignment_status_and_monitor_commands(app):
    make_user(Role.MODERATOR, online=True, email="watch@example.test")
    runner = app.test_cli_runner()
    status = runner.invoke(args=["assignment", "status"])
    assert status.exit_code == 0 and "watch@example.test" in status.output and "load 0" in status.output
    monitor = runner.invoke(args=["assignment", "monitor"])
    assert monitor.exit_code == 0 and "orphans_assigned: 0" in monitor.output


def test_conflict_kinds_are_shown_in_the_readers_language_not_as_codes(app):
    with app_context(), write_transaction():
        offline = conflicts.record("held_by_offline", utcnow(), resolution="moved").id
        approach = conflicts.record("double_approach", utcnow()).id
    admin = app.test_client()
    login(admin, make_user(Role.ADMIN, locale="de").email)
    listing = admin.get("/admin/conflicts").get_data(as_text=True)
    assert ">Bei einem Offline-Moderator</a>" in listing and ">Kunde von zwei Moderatoren angesprochen</a>" in listing
    assert ">held_by_offline<" not in listing and ">double_approach<" not in listing
    assert 'href="/admin/conflicts?kind=held_by_offline"' in listing  # the filter link keeps the code
    to_resolve = admin.get("/moderateur/conflicts/resolve").get_data(as_text=True)
    assert f"#{approach} · Kunde von zwei Moderatoren angesprochen" in to_resolve
    assert "double_approach" not in to_resolve and f"#{offline} ·" not in to_resolve  # resolved: not listed
