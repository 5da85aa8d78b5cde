"""Every change of hands is recorded; admins filter the history and reassign by hand."""
import re
from datetime import timedelta

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import AssignmentChange, ChangeReason, Conversation, Role
from app.services import inactivity
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
    assert "First Mod" in page and "Second Mod" in page and "<td>Reassigned by an admin</td>" in page
    only_new = admin.get("/admin/assignments?reason=new").get_data(as_text=True)
    assert "<td>First assignment</td>" in only_new and "<td>Reassigned by an admin</td>" not in only_new
    by_moderator = admin.get(f"/admin/assignments?moderator={second.id}").get_data(as_text=True)
    assert "<td>First assignment</td>" not in by_moderator and "<td>Reassigned by an admin</td>" in by_moderator

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


def test_reasons_are_shown_in_the_admins_language_not_as_codes(app):
    """A conversation taken from an idle moderator: a French admin reads the reason in French, in
    the history and in the reason filter (whose options still send the code)."""
    idle = make_user(Role.MODERATOR, online=True)
    conversation_id = start_conversation(app, make_user(), make_profile())
    make_user(Role.MODERATOR, online=True)
    with app_context(), write_transaction():
        moves = inactivity.reassign_from_idle_moderators(utcnow() + timedelta(minutes=5))
    assert moves.taken[idle.id][0][0] == conversation_id

    admin = app.test_client()
    login(admin, make_user(Role.ADMIN, locale="fr").email)
    page = admin.get("/admin/assignments").get_data(as_text=True)
    assert "<td>Modérateur inactif</td>" in page and "<td>Première attribution</td>" in page
    assert "<td>inactivity</td>" not in page and "<td>new</td>" not in page
    options = dict(re.findall(r'<option value="([a-z]+)"[^>]*>([^<]+)</option>', page))
    assert options["inactivity"] == "Modérateur inactif" and options["manual"] == "Réattribuée par un administrateur"
    assert not set(options) & set(options.values())  # no option shows its code
    only_inactivity = admin.get("/admin/assignments?reason=inactivity").get_data(as_text=True)
    assert "<td>Modérateur inactif</td>" in only_inactivity and "<td>Première attribution</td>" not in only_inactivity
    assert '<option value="inactivity" selected>Modérateur inactif</option>' in only_inactivity
