"""Unread counts, previews and receipts over HTTP: each client sees their own counts only, the
pages show previews, waiting times and "Seen", and a forged id in the read endpoints is a clear
4xx in the reader's language."""
import re

from app.models import Role
from tests.support.factories import make_profile, make_user, token
from tests.support.http import login, send

RECEIPT = re.compile(r'<p class="receipt" id="receipt-(\w+)">(.*?)</p>', re.S)


def session(app, user):
    http = app.test_client()
    http.csrf = login(http, user.email)
    return http


def conversation_of(moderator_http):
    page = moderator_http.get("/moderateur/").get_data(as_text=True)
    return int(re.search(r'data-conversation-id="(\d+)"', page).group(1))


def answer(moderator_http, conversation_id, body):
    response = moderator_http.post(f"/moderateur/c/{conversation_id}/messages",
                                   data={"body": body, "client_token": token()},
                                   headers={"X-CSRFToken": moderator_http.csrf, "HX-Request": "true"})
    assert response.status_code == 200
    return int(re.search(r'data-msg-id="(\d+)"', response.get_data(as_text=True)).group(1))


def read(http, url, up_to):
    return http.post(url, data={"up_to": up_to}, headers={"X-CSRFToken": http.csrf, "HX-Request": "true"})


def test_a_client_sees_their_own_unread_counts_and_previews_only(app):
    moderator = make_user(Role.MODERATOR, online=True)
    alice, bob, profile = make_user(display_name="Alice"), make_user(display_name="Bob"), make_profile("Iris")
    alice_http, bob_http, moderator_http = session(app, alice), session(app, bob), session(app, moderator)
    assert send(alice_http, alice_http.csrf, profile.id, "hello Iris").status_code == 200
    conversation_id = conversation_of(moderator_http)
    answer(moderator_http, conversation_id, "hi Alice, private words")
    answer(moderator_http, conversation_id, "are you there?")

    badge = alice_http.get("/unread").get_data(as_text=True)
    assert 'data-unread-total="2"' in badge and "hidden" not in badge and "2 unread messages" in badge
    strip = alice_http.get("/profiles/conversations").get_data(as_text=True)
    assert 'id="strip-p%d"' % profile.id in strip and "are you there?" in strip and '"badge unread-count"' in strip
    home = alice_http.get("/profiles").get_data(as_text=True)
    assert "are you there?" in home and 'class="strip-entry unread"' in home

    # Bob has no conversation: nothing of Alice's reaches him.
    badge = bob_http.get("/unread").get_data(as_text=True)
    assert 'data-unread-total="0"' in badge and " hidden" in badge
    for page in (bob_http.get("/profiles/conversations"), bob_http.get("/profiles")):
        assert "private words" not in page.get_data(as_text=True) and "strip-p" not in page.get_data(as_text=True)
    assert moderator_http.get("/unread").status_code == 403            # a client's badge only


def test_reading_clears_the_count_and_shows_seen_to_the_other_side(app):
    moderator = make_user(Role.MODERATOR, online=True, locale="fr")
    client, profile = make_user(locale="de"), make_profile("Iris")
    client_http, moderator_http = session(app, client), session(app, moderator)
    assert send(client_http, client_http.csrf, profile.id, "Hallo?").status_code == 200
    conversation_id = conversation_of(moderator_http)
    workspace = moderator_http.get("/moderateur/").get_data(as_text=True)
    assert "Hallo?" in workspace and re.search(r'<time datetime="[^"]+Z" data-relative></time>', workspace)
    assert "En attente depuis" in workspace                              # how long it waits, in French

    page = client_http.get(f"/profiles/{profile.id}").get_data(as_text=True)
    assert RECEIPT.search(page).group(2) == ""                           # not seen yet
    panel = moderator_http.get(f"/moderateur/c/{conversation_id}").get_data(as_text=True)
    assert RECEIPT.search(client_http.get(f"/profiles/{profile.id}").get_data(as_text=True)).group(2) == ""  # loaded only
    question_id = int(re.findall(r'data-msg-id="(\d+)"', panel)[-1])
    assert read(moderator_http, f"/moderateur/c/{conversation_id}/read", question_id).status_code == 204
    assert "Gesehen" in RECEIPT.search(client_http.get(f"/profiles/{profile.id}").get_data(as_text=True)).group(2)

    reply_id = answer(moderator_http, conversation_id, "Ja, hier!")
    assert RECEIPT.search(client_http.get(f"/profiles/{profile.id}").get_data(as_text=True)).group(2) == ""
    assert 'data-unread-total="1"' in client_http.get("/unread").get_data(as_text=True)
    assert read(client_http, f"/profiles/{profile.id}/read", reply_id).status_code == 204
    assert 'data-unread-total="0"' in client_http.get("/unread").get_data(as_text=True)
    panel = moderator_http.get(f"/moderateur/c/{conversation_id}").get_data(as_text=True)
    assert re.search(r"Vu à \d\d:\d\d", RECEIPT.search(panel).group(2))


def test_forged_ids_in_the_read_endpoints_are_refused_in_the_readers_language(app):
    holder = make_user(Role.MODERATOR, online=True)
    client, profile = make_user(locale="de"), make_profile("Iris")
    client_http = session(app, client)
    assert send(client_http, client_http.csrf, profile.id, "Hallo?").status_code == 200
    holder_http = session(app, holder)
    conversation_id = conversation_of(holder_http)
    outsider_http = session(app, make_user(Role.MODERATOR, locale="de"))

    refused = read(outsider_http, f"/moderateur/c/{conversation_id}/read", 1)
    assert refused.status_code == 403 and "nicht zugewiesen" in refused.get_data(as_text=True)
    missing = read(outsider_http, "/moderateur/c/999999/read", 1)
    assert missing.status_code == 404 and "existiert nicht" in missing.get_data(as_text=True)
    missing = read(client_http, "/profiles/999999/read", 1)
    assert missing.status_code == 404 and "existiert nicht" in missing.get_data(as_text=True)
    # Another client reading "their" conversation with the profile marks nothing of this one.
    stranger_http = session(app, make_user())
    assert read(stranger_http, f"/profiles/{profile.id}/read", 10**6).status_code == 204
    panel = holder_http.get(f"/moderateur/c/{conversation_id}").get_data(as_text=True)
    assert RECEIPT.search(panel).group(2) == "" and 'data-read-up-to="0"' in client_http.get(
        f"/profiles/{profile.id}").get_data(as_text=True)
