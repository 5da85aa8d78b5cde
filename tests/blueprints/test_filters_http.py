"""The content filter pages over HTTP: rules created, edited, disabled, deleted; bad input gets a
clear 4xx; the flagged list; and a client's blocked message refused with the message in their language."""
from app.extensions import db
from app.models import FilterRule, FlaggedMessage, Message, Role
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user
from tests.support.http import login, send


def admin_client(app):
    client = app.test_client()
    admin = make_user(Role.ADMIN)
    return client, login(client, admin.email), admin


def rule_form(csrf, **fields):
    return {"csrf_token": csrf, "kind": "words", "expression": "idiot", "language": "all", "action": "block"} | fields


def test_an_admin_creates_edits_disables_and_deletes_a_rule(app):
    client, csrf, _ = admin_client(app)
    assert client.post("/admin/filters", data=rule_form(csrf)).status_code == 302
    with app_context():
        rule_id = db.session.query(FilterRule).one().id
    page = client.get("/admin/filters").get_data(as_text=True)
    assert "idiot" in page and f"/admin/filters/{rule_id}" in page
    assert client.get(f"/admin/filters/{rule_id}").status_code == 200
    response = client.post(f"/admin/filters/{rule_id}", data=rule_form(csrf, expression="crétin", action="mask"))
    assert response.status_code == 302
    assert client.post(f"/admin/filters/{rule_id}/enabled", data={"csrf_token": csrf, "enabled": "0"}).status_code == 302
    with app_context():
        rule = db.session.get(FilterRule, rule_id)
        assert (rule.expression, rule.action, rule.enabled) == ("crétin", "mask", False)
    assert client.post(f"/admin/filters/{rule_id}/delete", data={"csrf_token": csrf}).status_code == 302
    with app_context():
        assert db.session.query(FilterRule).count() == 0


def test_bad_rules_and_wrong_ids_get_clear_errors_never_a_500(app):
    client, csrf, _ = admin_client(app)
    response = client.post("/admin/filters", data=rule_form(csrf, kind="pattern", expression="(unclosed"))
    assert response.status_code == 422 and "This pattern is not valid" in response.get_data(as_text=True)
    for fields in ({"kind": "pattern", "expression": r"(\w+)\1"}, {"expression": ""}, {"language": "xx"},
                   {"action": "nuke"}, {"kind": "other"}, {"expression": "x" * 100_000}):
        assert client.post("/admin/filters", data=rule_form(csrf, **fields)).status_code in (413, 422), fields
    for url in ("/admin/filters/999", "/admin/filters/999/enabled", "/admin/filters/999/delete"):
        method = client.get if url.endswith("999") else client.post
        assert method(url, data={"csrf_token": csrf}).status_code == 404, url
    assert client.post("/admin/filters/999", data=rule_form(csrf)).status_code == 404
    assert client.post("/admin/filters/flagged/reviewed", data={"csrf_token": csrf, "flagged_id": "999"}).status_code == 404
    assert client.post("/admin/filters/flagged/reviewed", data={"csrf_token": csrf, "flagged_id": "x"}).status_code == 400
    with app_context():
        assert db.session.query(FilterRule).count() == 0


def test_only_admins_see_the_filter_pages(app):
    client = app.test_client()
    moderator = make_user(Role.MODERATOR)
    login(client, moderator.email)
    assert client.get("/admin/filters").status_code in (302, 403)


def test_a_client_is_told_in_their_language_and_the_admin_reviews_a_flag(app):
    admin_http, csrf, _ = admin_client(app)
    admin_http.post("/admin/filters", data=rule_form(csrf, expression="arnaque"))
    admin_http.post("/admin/filters", data=rule_form(csrf, expression="virement", action="flag"))
    make_user(Role.MODERATOR, online=True)
    user, profile = make_user(locale="fr"), make_profile()
    client = app.test_client()
    client_csrf = login(client, user.email)
    refused = send(client, client_csrf, profile.id, "C'est une ARNAQUE")
    assert refused.status_code == 422
    assert "Ce message ne peut pas être envoyé" in refused.get_data(as_text=True)
    assert send(client, client_csrf, profile.id, "fais un virement").status_code == 200
    with app_context():
        assert [m.body for m in db.session.query(Message)] == ["fais un virement"]
        flagged_id = db.session.query(FlaggedMessage).one().id
    page = admin_http.get("/admin/filters/flagged").get_data(as_text=True)
    assert "fais un virement" in page
    admin_http.post("/admin/filters/flagged/reviewed", data={"csrf_token": csrf, "flagged_id": flagged_id})
    assert "fais un virement" not in admin_http.get("/admin/filters/flagged").get_data(as_text=True)
    assert "fais un virement" in admin_http.get("/admin/filters/flagged?reviewed=1").get_data(as_text=True)
