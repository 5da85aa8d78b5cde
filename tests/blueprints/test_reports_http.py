"""Reports over HTTP: the report controls and forms, who may report what (others' objects are not
found), bad input as a clear translated 4xx, the admins' queue and decisions, the notices."""
import re

import pytest

from app.database import write_transaction
from app.extensions import db
from app.models import Message, ModerationNotice, Report, Role, User
from app.services import chat
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user, token
from tests.support.http import login, send

HX = {"HX-Request": "true"}


@pytest.fixture
def people(app):
    """A client (French) in a conversation with the profile's reply, another client, a moderator holding it, an admin."""
    moderator = make_user(Role.MODERATOR, online=True)
    profile = make_profile()
    client = make_user(email="c@example.com", locale="fr")
    other = make_user(email="o@example.com")
    admin = make_user(Role.ADMIN, email="admin@example.com")
    browsers = {}
    for name, user in (("client", client), ("other", other), ("moderator", moderator), ("admin", admin)):
        http = app.test_client()
        browsers[name] = (http, login(http, user.email))
    assert send(*browsers["client"], profile.id, "hello").status_code == 200
    with app_context():
        conversation_id = db.session.scalars(db.select(Message.conversation_id)).one()
        from app.clock import utcnow
        with write_transaction():
            reply = chat.post_profile_reply(db.session.get(User, moderator.id), conversation_id, "hi there", token(), utcnow())
        reply_id = reply.message.id
    return browsers, profile.id, conversation_id, reply_id


def post(browser, url, data, error_target="#report-error"):
    http, csrf = browser
    return http.post(url, data=data, headers={"X-CSRFToken": csrf, "X-Error-Target": error_target, **HX})


def test_a_client_reports_a_message_from_the_control_under_it(people):
    browsers, profile_id, _, reply_id = people
    http, _ = browsers["client"]
    page = http.get(f"/profiles/{profile_id}").get_data(as_text=True)
    assert f'hx-get="/messages/{reply_id}/report"' in page  # the control under the profile's message
    assert f'hx-get="/profiles/{profile_id}/report"' in page
    form = http.get(f"/messages/{reply_id}/report", headers=HX).get_data(as_text=True)
    assert f'hx-post="/messages/{reply_id}/report"' in form and "Harcèlement" in form
    filed = post(browsers["client"], f"/messages/{reply_id}/report", {"reason": "harassment", "comment": "<b>rude</b>"})
    assert filed.status_code == 200 and "administrateur" in filed.get_data(as_text=True)
    again = post(browsers["client"], f"/messages/{reply_id}/report", {"reason": "spam"})
    assert again.status_code == 422 and "déjà signalé" in again.get_data(as_text=True)
    with app_context():
        assert [(r.kind, r.reason, r.comment) for r in Report.query] == [("message", "harassment", "<b>rude</b>")]
    queue = browsers["admin"][0].get("/admin/reports").get_data(as_text=True)
    assert "&lt;b&gt;rude&lt;/b&gt;" in queue and "<b>rude</b>" not in queue  # escaped, never rendered


def test_bad_input_and_others_objects_get_clear_errors(people):
    browsers, profile_id, conversation_id, reply_id = people
    client, other, moderator = browsers["client"], browsers["other"], browsers["moderator"]
    assert post(other, f"/messages/{reply_id}/report", {"reason": "spam"}).status_code == 404
    assert post(client, "/messages/99999/report", {"reason": "spam"}).status_code == 404
    assert post(client, f"/messages/{2**31 - 1}/report", {"reason": "spam"}).status_code == 404
    unknown = post(client, f"/messages/{reply_id}/report", {"reason": "boring"})
    assert unknown.status_code == 422 and "Choisissez un motif" in unknown.get_data(as_text=True)
    assert unknown.headers.get("HX-Retarget") == "#report-error"
    long = post(client, f"/messages/{reply_id}/report", {"reason": "spam", "comment": "x" * 1001})
    assert long.status_code == 422 and "1000" in long.get_data(as_text=True)
    assert post(moderator, f"/messages/{reply_id}/report", {"reason": "spam"}).status_code == 403
    assert post(other, f"/moderateur/conversations/{conversation_id}/report", {"reason": "spam"}).status_code == 403
    with app_context():
        assert Report.query.count() == 0


def test_a_moderator_reports_the_client_and_an_admin_warns_from_the_queue(people):
    browsers, _, conversation_id, _ = people
    moderator, admin, client = browsers["moderator"], browsers["admin"], browsers["client"]
    panel = moderator[0].get(f"/moderateur/c/{conversation_id}", headers=HX).get_data(as_text=True)
    assert f'hx-get="/moderateur/conversations/{conversation_id}/report"' in panel
    filed = post(moderator, f"/moderateur/conversations/{conversation_id}/report", {"reason": "scam", "comment": "asks money"})
    assert filed.status_code == 200
    queue = admin[0].get("/admin/reports").get_data(as_text=True)
    assert "asks money" in queue and 'name="hours"' in queue
    report_id = int(re.search(r'data-report-id="(\d+)"', queue).group(1))
    http, csrf = admin
    decided = http.post(f"/admin/reports/{report_id}/decide",
                        data={"decision": "warn", "note": "be kind", "csrf_token": csrf, "back": "https://evil.example/"})
    assert decided.status_code == 302 and decided.headers["Location"].endswith("/admin/reports")
    twice = http.post(f"/admin/reports/{report_id}/decide", data={"decision": "dismiss", "csrf_token": csrf})
    assert twice.status_code == 422 and "already decided" in twice.get_data(as_text=True)
    assert "No report here." in http.get("/admin/reports").get_data(as_text=True)
    assert "Client warned" in http.get("/admin/reports?state=decided").get_data(as_text=True)
    notices = client[0].get("/notices", headers=HX).get_data(as_text=True)
    assert "averti" in notices and "be kind" in notices
    mine = moderator[0].get("/notices", headers=HX).get_data(as_text=True)
    assert "reviewed: action was taken" in mine
    assert client[0].get("/admin/reports").status_code in (302, 403)
    with app_context():
        notice_id = ModerationNotice.query.filter_by(kind="outcome").one().id
    assert post(client, f"/notices/{notice_id}/dismiss", {}).status_code == 404  # the moderator's notice
    closed = post(moderator, f"/notices/{notice_id}/dismiss", {})
    assert closed.status_code == 200 and "reviewed" not in closed.get_data(as_text=True)
    assert "reviewed" not in moderator[0].get("/notices", headers=HX).get_data(as_text=True)


def test_the_queue_refuses_bad_filters_and_a_decision_without_a_duration(people):
    browsers, _, conversation_id, _ = people
    post(browsers["moderator"], f"/moderateur/conversations/{conversation_id}/report", {"reason": "spam"})
    http, csrf = browsers["admin"]
    assert http.get("/admin/reports?older_than=abc").status_code == 400
    assert http.get("/admin/reports?page=-1").status_code == 400
    assert http.get("/admin/reports?state=weird&reason=weird").status_code == 200
    with app_context():
        report_id = Report.query.one().id
    no_hours = http.post(f"/admin/reports/{report_id}/decide", data={"decision": "ban", "csrf_token": csrf})
    assert no_hours.status_code == 422
    assert http.post("/admin/reports/99999/decide", data={"decision": "ban", "csrf_token": csrf}).status_code == 404
    with app_context():
        assert Report.query.one().state == "open"
