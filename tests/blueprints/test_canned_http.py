"""Canned replies over HTTP: the picker's list (only for a conversation held, filled, JSON text),
the moderator's own page and the admins' page, and bad input answered with a clear 4xx."""
import pytest

from app.models import CannedReply, Role
from tests.support.context import app_context
from tests.support.factories import count, make_user
from tests.support.http import login
from tests.support.search import conversation_with, moderator


def logged_in(app, user):
    http = app.test_client()
    http.csrf = login(http, user.email)
    return http


def post(http, url, **form):
    return http.post(url, data={"csrf_token": http.csrf, **form})


def test_admin_and_moderator_replies_reach_the_picker_of_a_conversation_held(app):
    admin, mod = make_user(Role.ADMIN), moderator()
    c = conversation_with(mod, "salut", client_name="Julien Martin", profile_name="Iris")
    a, m = logged_in(app, admin), logged_in(app, mod)
    assert post(a, "/admin/canned", title="Hello", body="Bonjour {client_first_name}", profile_id="").status_code == 302
    assert post(a, "/admin/canned", title="Iris", body="Ici {profile_name}", profile_id=str(c.profile.id)).status_code == 302
    assert post(m, "/moderateur/canned", title="Mine", body="<b>gras</b>").status_code == 302
    page = a.get("/admin/canned").get_data(as_text=True)
    assert "Bonjour {client_first_name}" in page and 'href="/admin/canned"' in page  # listed, and in the admin nav
    own = m.get("/moderateur/canned").get_data(as_text=True)
    assert "&lt;b&gt;gras&lt;/b&gt;" in own and "<b>gras" not in own and "Bonjour" not in own
    response = m.get(f"/moderateur/c/{c.conversation_id}/canned")
    assert response.status_code == 200 and response.is_json
    assert [(r["title"], r["text"]) for r in response.json["replies"]] == [
        ("Hello", "Bonjour Julien"), ("Iris", "Ici Iris"), ("Mine", "<b>gras</b>")]
    assert [r["title"] for r in m.get(f"/moderateur/c/{c.conversation_id}/canned?q=ici").json["replies"]] == ["Iris"]


def test_the_composer_offers_the_picker_to_moderators_only(app):
    mod = moderator()
    c = conversation_with(mod, "salut")
    page = logged_in(app, mod).get(f"/moderateur/c/{c.conversation_id}").get_data(as_text=True)
    assert f'data-url="/moderateur/c/{c.conversation_id}/canned"' in page and "js/canned.js" in page
    client_page = logged_in(app, c.client).get(f"/profiles/{c.profile.id}")
    assert client_page.status_code == 200 and "data-send-form" in client_page.get_data(as_text=True)
    assert "data-canned-panel" not in client_page.get_data(as_text=True)


def test_others_objects_are_not_found(app):
    admin, mod, other = make_user(Role.ADMIN), moderator(), moderator()
    c = conversation_with(mod, "salut")
    m, o, a = logged_in(app, mod), logged_in(app, other), logged_in(app, admin)
    post(m, "/moderateur/canned", title="Mine", body="texte")
    post(a, "/admin/canned", title="Global", body="texte")
    with app_context():
        mine = CannedReply.query.filter_by(title="Mine").one().id
        global_id = CannedReply.query.filter_by(title="Global").one().id
    assert o.get(f"/moderateur/c/{c.conversation_id}/canned").status_code == 403  # not held by them
    assert m.get("/moderateur/c/999999/canned").status_code == 404
    assert post(o, f"/moderateur/canned/{mine}", title="x", body="y").status_code == 404
    assert post(o, f"/moderateur/canned/{mine}/delete").status_code == 404
    assert post(m, f"/moderateur/canned/{global_id}/delete").status_code == 404
    assert post(a, f"/admin/canned/{mine}/delete").status_code == 404
    assert post(m, "/moderateur/canned/999999").status_code == 404
    assert post(a, "/admin/canned", title="P", body="t", profile_id="999999").status_code == 404
    assert post(a, "/admin/canned", title="P", body="t", profile_id="abc").status_code == 400
    assert logged_in(app, c.client).get(f"/moderateur/c/{c.conversation_id}/canned").status_code in (302, 403)
    assert m.get("/admin/canned").status_code in (302, 403)
    with app_context():
        assert CannedReply.query.filter_by(title="Mine").one().body == "texte" and count(CannedReply) == 2


@pytest.mark.parametrize("form, says", [
    ({"title": "", "body": "t"}, "Give the reply a title."),
    ({"title": "t", "body": ""}, "The reply&#39;s text is empty."),
    ({"title": "t" * 81, "body": "t"}, "The title is too long (at most 80 characters)."),
    ({"title": "t", "body": "b" * 2001}, "The text is too long (at most 2000 characters)."),
    ({"title": "t", "body": "Hi {prenom}"}, "Unknown placeholder: {prenom}."),
])
def test_bad_input_answers_422_on_the_page_and_keeps_what_was_typed(app, form, says):
    mod = moderator()
    m = logged_in(app, mod)
    response = post(m, "/moderateur/canned", **form)
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and says in text
    if form["body"]:
        assert form["body"][:50] in text
    assert count(CannedReply) == 0


def test_a_french_moderator_reads_the_error_in_french(app):
    mod = moderator(locale="fr")
    m = logged_in(app, mod)
    text = post(m, "/moderateur/canned", title="t", body="Hi {prenom}").get_data(as_text=True)
    assert "Espace réservé inconnu" in text


def test_without_csrf_nothing_is_saved(app):
    m = logged_in(app, moderator())
    assert m.post("/moderateur/canned", data={"title": "t", "body": "b"}).status_code == 400
    assert count(CannedReply) == 0
