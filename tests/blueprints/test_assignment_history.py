"""Every change of hands is recorded; admins filter the history and reassign by hand."""
from app.extensions import db
from app.models import AssignmentChange, ChangeReason, Conversation, Role
from tests.support.context import app_context
from tests.support.factories import count, make_profile, make_user, token
from tests.support.http import login


def start_conversation(app, client_user, profile):
    client = app.test_client()
    csrf = login(client, client_user.email)
    response = client.post(f"/profiles/{profile.id}/messages", data={"body": "salut", "client_token": token()},
                           headers={"X-CSRFToken": csrf, "HX-Request": "true"})
    assert response.status_code == 200
    with app_context():
        return Conversation.query.filter_by(client_id=client_user.id).one().id


def test_first_assignment_disable_and_manual_reassign_are_recorded(app):
    first = make_user(Role.MODERATOR, online=True, display_name="First Mod")
    second = make_user(Role.MODERATOR, display_name="Second Mod")
    conversation_id = start_conversation(app, make_user(), make_profile())

    admin = app.test_client()
    csrf = login(admin, make_user(Role.ADMIN).email)
    response = admin.post("/admin/assignments/reassign", data={"csrf_token": csrf, "conversation_id": conversation_id,
                                                               "moderator_id": second.id})
    assert response.status_code == 302
    with app_context():
        assert db.session.get(Conversation, conversation_id).assigned_moderator_id == second.id
        rows = AssignmentChange.query.order_by(AssignmentChange.id).all()
        assert [(r.from_moderator_id, r.to_moderator_id, r.reason) for r in rows] == [
            (None, first.id, ChangeReason.NEW), (first.id, second.id, ChangeReason.MANUAL)]

    page = admin.get(f"/admin/assignments?conversation={conversation_id}").get_data(as_text=True)
    assert "First Mod" in page and "Second Mod" in page and "manual" in page
    only_new = admin.get("/admin/assignments?reason=new").get_data(as_text=True)
    assert "new" in only_new and "<td>manual</td>" not in only_new
    by_moderator = admin.get(f"/admin/assignments?moderator={second.id}").get_data(as_text=True)
    assert "<td>new</td>" not in by_moderator and "<td>manual</td>" in by_moderator

    admin.post(f"/admin/users/{second.id}/active", data={"csrf_token": csrf, "active": "0"})
    with app_context():
        last = AssignmentChange.query.order_by(AssignmentChange.id.desc()).first()
        assert (last.from_moderator_id, last.to_moderator_id, last.reason) == (second.id, None, ChangeReason.DISCONNECT)


def test_reassign_bad_input(app):
    admin = app.test_client()
    csrf = login(admin, make_user(Role.ADMIN).email)
    conversation_id = start_conversation(app, make_user(), make_profile())
    assert admin.post("/admin/assignments/reassign", data={"csrf_token": csrf, "conversation_id": "x"}).status_code == 400
    assert admin.post("/admin/assignments/reassign", data={"csrf_token": csrf, "conversation_id": 999999,
                                                           "moderator_id": 1}).status_code == 404
    client_user = make_user()
    response = admin.post("/admin/assignments/reassign", data={"csrf_token": csrf, "conversation_id": conversation_id,
                                                               "moderator_id": client_user.id})
    assert response.status_code == 303
    assert count(AssignmentChange, reason=ChangeReason.MANUAL) == 0
    assert admin.get("/admin/assignments?moderator=abc").status_code == 400
