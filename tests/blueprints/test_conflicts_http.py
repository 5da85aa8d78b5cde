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
    assert "claim_race" in page and "seen twice" in page
    empty_note = admin.post("/moderateur/conflicts/resolve", data={"csrf_token": csrf, "conflict_id": conflict_id,
                                                                   "note": ""})
    assert empty_note.status_code == 422
    assert admin.post("/moderateur/conflicts/resolve", data={"csrf_token": csrf, "conflict_id": "x"}).status_code == 400
    done = admin.post("/moderateur/conflicts/resolve", data={"csrf_token": csrf, "conflict_id": conflict_id,
                                                             "note": "checked by hand"})
    assert done.status_code == 302
    assert count(AssignmentConflict, resolution="checked by hand") == 1
    listing = admin.get("/admin/conflicts").get_data(as_text=True)
    assert "checked by hand" in listing


def test_assignment_status_and_monitor_commands(app):
    make_user(Role.MODERATOR, online=True, email="watch@example.test")
    runner = app.test_cli_runner()
    status = runner.invoke(args=["assignment", "status"])
    assert status.exit_code == 0 and "watch@example.test" in status.output and "load 0" in status.output
    monitor = runner.invoke(args=["assignment", "monitor"])
    assert monitor.exit_code == 0 and "orphans_assigned: 0" in monitor.output
