"""The desk over HTTP: the holder reads and writes it beside the chat, an admin on the profile's
page; a stale save is a 409 showing the current text; others' desks, bad ids, oversize text and
HTML are refused or escaped."""
from app.clock import utcnow
from app.database import write_transaction
from app.models import ClientNoteVersion, ProfileFactVersion, Role
from app.services import sending
from tests.support.context import app_context
from tests.support.factories import count, make_profile, make_user, token
from tests.support.http import login

HX = {"HX-Request": "true"}


def held_conversation(locale="en"):
    moderator = make_user(Role.MODERATOR, online=True, locale=locale)
    client, profile = make_user(display_name="Paul"), make_profile("Léa")
    with app_context(), write_transaction():
        posted = sending.send_client_message(client.id, profile.id, "bonjour", token(), utcnow())
    return moderator, profile, posted.message.conversation_id


def logged_in(app, user):
    http = app.test_client()
    csrf = login(http, user.email)
    return http, {**HX, "X-CSRFToken": csrf, "Accept-Language": "en"}


def test_the_holder_writes_a_note_and_the_panel_loads_the_desk(app):
    moderator, profile, conversation_id = held_conversation()
    http, headers = logged_in(app, moderator)
    panel = http.get(f"/moderateur/c/{conversation_id}", headers={**HX, "HX-Target": "conversation-panel"})
    assert f'hx-get="/moderateur/c/{conversation_id}/desk"' in panel.get_data(as_text=True)
    desk = http.get(f"/moderateur/c/{conversation_id}/desk", headers=headers).get_data(as_text=True)
    assert 'name="version" value="0"' in desk and "Nothing written yet." in desk

    saved = http.post(f"/moderateur/c/{conversation_id}/desk/note", data={"body": "Has a dog, Rex.", "version": "0"},
                      headers=headers)
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "Has a dog, Rex." in html and "Saved." in html
    assert moderator.display_name in html
    saved = http.post(f"/moderateur/c/{conversation_id}/desk/facts", data={"body": "Nurse in Lyon.", "version": "0"},
                      headers=headers)
    assert saved.status_code == 200 and "Nurse in Lyon." in saved.get_data(as_text=True)
    assert count(ClientNoteVersion) == 1 and count(ProfileFactVersion) == 1


def test_a_stale_save_is_a_409_with_the_current_text_and_nothing_overwritten(app):
    moderator, profile, conversation_id = held_conversation()
    http, headers = logged_in(app, moderator)
    http.post(f"/moderateur/c/{conversation_id}/desk/note", data={"body": "Likes jazz.", "version": "0"},
              headers=headers)
    refused = http.post(f"/moderateur/c/{conversation_id}/desk/note", data={"body": "Likes rock.", "version": "0"},
                        headers=headers)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "Someone else changed this since you opened it" in html
    assert ">Likes jazz.</textarea>" in html and "Likes rock." in html  # theirs in the form, mine beside it
    assert 'name="version" value="1"' in html
    assert count(ClientNoteVersion) == 1


def test_the_refusal_speaks_the_moderators_language(app):
    moderator, profile, conversation_id = held_conversation(locale="fr")
    http, headers = logged_in(app, moderator)
    http.post(f"/moderateur/c/{conversation_id}/desk/facts", data={"body": "Infirmière.", "version": "0"},
              headers=headers)
    french = http.post(f"/moderateur/c/{conversation_id}/desk/facts", data={"body": "x", "version": "0"},
                       headers=headers)
    html = french.get_data(as_text=True)
    assert french.status_code == 409 and "Quelqu’un d’autre a modifié" in html and "Votre texte (non enregistré)" in html


def test_an_admin_writes_the_fact_sheet_and_the_holder_sees_it(app):
    moderator, profile, conversation_id = held_conversation()
    admin, admin_headers = logged_in(app, make_user(Role.ADMIN))
    page = admin.get(f"/admin/profiles/{profile.id}").get_data(as_text=True)
    assert f'hx-get="/admin/profiles/{profile.id}/facts"' in page
    saved = admin.post(f"/admin/profiles/{profile.id}/facts", data={"body": "Born in Nantes.", "version": "0"},
                       headers=admin_headers)
    assert saved.status_code == 200 and "Born in Nantes." in saved.get_data(as_text=True)
    stale = admin.post(f"/admin/profiles/{profile.id}/facts", data={"body": "Born in Brest.", "version": "0"},
                       headers=admin_headers)
    assert stale.status_code == 409 and ">Born in Nantes.</textarea>" in stale.get_data(as_text=True)

    http, headers = logged_in(app, moderator)
    desk = http.get(f"/moderateur/c/{conversation_id}/desk", headers=headers).get_data(as_text=True)
    assert ">Born in Nantes.</textarea>" in desk and 'name="version" value="1"' in desk


def test_html_in_a_note_is_shown_as_text(app):
    moderator, profile, conversation_id = held_conversation()
    http, headers = logged_in(app, moderator)
    body = '<script>alert(1)</script><b onmouseover="x()">bold</b>'
    saved = http.post(f"/moderateur/c/{conversation_id}/desk/note", data={"body": body, "version": "0"},
                      headers=headers)
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200
    assert "<script>alert(1)</script>" not in html and '<b onmouseover' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_others_desks_bad_ids_and_oversize_text(app):
    moderator, profile, conversation_id = held_conversation()
    stranger, headers = logged_in(app, make_user(Role.MODERATOR))
    assert stranger.get(f"/moderateur/c/{conversation_id}/desk", headers=headers).status_code == 403
    assert stranger.post(f"/moderateur/c/{conversation_id}/desk/note", data={"body": "mine", "version": "0"},
                         headers=headers).status_code == 403
    assert stranger.get("/moderateur/c/999999/desk", headers=headers).status_code == 404
    assert stranger.post(f"/admin/profiles/{profile.id}/facts", data={"body": "x", "version": "0"},
                         headers=headers).status_code == 403
    client, client_headers = logged_in(app, make_user())
    assert client.get(f"/moderateur/c/{conversation_id}/desk", headers=client_headers).status_code == 403

    http, headers = logged_in(app, moderator)
    too_long = "x" * (app.config["DESK_NOTE_MAX_LENGTH"] + 1)
    refused = http.post(f"/moderateur/c/{conversation_id}/desk/note", data={"body": too_long, "version": "0"},
                        headers={**headers, "X-Error-Target": f"#desk-error-c{conversation_id}"})
    assert refused.status_code == 422 and "too long" in refused.get_data(as_text=True)
    assert refused.headers.get("HX-Retarget") == f"#desk-error-c{conversation_id}"
    assert http.post(f"/moderateur/c/{conversation_id}/desk/note", data={"body": "x", "version": "abc"},
                     headers=headers).status_code == 422
    admin, admin_headers = logged_in(app, make_user(Role.ADMIN))
    assert admin.post("/admin/profiles/999999/facts", data={"body": "x", "version": "0"},
                      headers=admin_headers).status_code == 404
    assert count(ClientNoteVersion) == 0 and count(ProfileFactVersion) == 0


def test_an_admin_reads_and_writes_a_conversations_desk_from_its_page(app):
    moderator, profile, conversation_id = held_conversation()
    holder, headers = logged_in(app, moderator)
    holder.post(f"/moderateur/c/{conversation_id}/desk/note", data={"body": "Has a cat.", "version": "0"},
                headers=headers)
    admin, admin_headers = logged_in(app, make_user(Role.ADMIN))
    page = admin.get(f"/admin/conversations/{conversation_id}").get_data(as_text=True)
    assert f'hx-get="/admin/conversations/{conversation_id}/desk"' in page
    desk = admin.get(f"/admin/conversations/{conversation_id}/desk", headers=admin_headers).get_data(as_text=True)
    assert "Has a cat." in desk and f'hx-post="/admin/conversations/{conversation_id}/desk/note"' in desk
    saved = admin.post(f"/admin/conversations/{conversation_id}/desk/note",
                       data={"body": "Has a cat and a dog.", "version": "1"}, headers=admin_headers)
    assert saved.status_code == 200
    assert "Has a cat and a dog." in holder.get(f"/moderateur/c/{conversation_id}/desk", headers=headers).get_data(as_text=True)
    assert admin.get("/admin/conversations/999999/desk", headers=admin_headers).status_code == 404
