"""History over HTTP, for both sides: the page a conversation opens on, every older page down to
the very first message (then no marker), the markers watching the message pane, access, and bad
``before``/``after`` values."""
import html
import math
import re

import pytest

from app.extensions import db
from app.models import Conversation
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user
from tests.support.history import long_conversation
from tests.support.http import login, send

PAGE = 50  # HISTORY_PAGE_SIZE
MARKER = re.compile(r'<div class="older" hx-get="([^"]+)" hx-trigger="([^"]+)"')
IDS = re.compile(r'data-msg-id="(\d+)"')


def side_urls(conversation, side):
    """The page that opens the conversation, its history URL, and the id of its message pane."""
    if side == "client":
        return (f"/profiles/{conversation.profile.id}", f"/profiles/{conversation.profile.id}/messages",
                f"messages-p{conversation.profile.id}")
    return (f"/moderateur/c/{conversation.conversation_id}", f"/moderateur/c/{conversation.conversation_id}/messages",
            f"messages-c{conversation.conversation_id}")


def logged_in(app, conversation, side):
    http = app.test_client()
    http.csrf = login(http, conversation.client.email if side == "client" else conversation.moderator.email)
    return http


@pytest.mark.parametrize("side", ["client", "moderator"])
@pytest.mark.parametrize("count", [100, 101, 250])
def test_older_pages_reach_the_first_message_then_the_marker_goes(app, side, count):
    conversation = long_conversation(count)
    http = logged_in(app, conversation, side)
    page_url, _, pane = side_urls(conversation, side)
    text = http.get(page_url).get_data(as_text=True)
    shown = [int(i) for i in IDS.findall(text)]
    assert shown == conversation.message_ids[-PAGE:]
    requests = 0
    while (marker := MARKER.search(text)) is not None:
        url, trigger = html.unescape(marker.group(1)), marker.group(2)
        assert trigger == f"intersect root:#{pane}", trigger   # the pane scrolls, not the window
        assert url.endswith(f"before={shown[0]}"), url
        response = http.get(url, headers={"HX-Request": "true", "HX-Target": "older"})
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert "<html" not in text
        shown = [int(i) for i in IDS.findall(text)] + shown
        requests += 1
    assert requests == math.ceil(count / PAGE) - 1     # no empty request after the last page
    assert shown == conversation.message_ids             # every message once, in order, the first included
    assert "message 001" in text and "data-older" not in text


def test_a_conversation_with_one_page_has_no_marker(app):
    conversation = long_conversation(PAGE)
    for side in ("client", "moderator"):
        text = logged_in(app, conversation, side).get(side_urls(conversation, side)[0]).get_data(as_text=True)
        assert len(IDS.findall(text)) == PAGE and "data-older" not in text, side


def test_another_clients_conversation_stays_out_of_reach(app):
    """A client pages their own conversation with a profile only: a message id of someone else's
    conversation as ``before`` shows nothing of it; the moderator side answers 403/404 in the
    reader's language; a client cannot use the moderator's URLs."""
    theirs = long_conversation(60, moderator_locale="fr")
    intruder = make_user(locale="de")
    http = app.test_client()
    login(http, intruder.email)
    response = http.get(f"/profiles/{theirs.profile.id}/messages?before={theirs.message_ids[-1]}")
    assert response.status_code == 200 and "data-msg-id" not in response.get_data(as_text=True)
    response = http.get("/profiles/424242/messages?before=10", headers={"HX-Request": "true"})
    assert response.status_code == 404 and "Dieses Profil existiert nicht." in response.get_data(as_text=True)
    assert http.get(f"/moderateur/c/{theirs.conversation_id}/messages?before=10").status_code == 403

    other_moderator = make_user(theirs.moderator.role, locale="fr")
    http = app.test_client()
    login(http, other_moderator.email)
    response = http.get(f"/moderateur/c/{theirs.conversation_id}/messages?before={theirs.message_ids[-1]}",
                        headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 403 and "Cette conversation ne vous est pas attribuée." in body
    assert "message 0" not in body
    response = http.get("/moderateur/c/424242/messages?before=10")
    assert response.status_code == 404 and "Cette conversation n" in response.get_data(as_text=True)


@pytest.mark.parametrize("side", ["client", "moderator"])
@pytest.mark.parametrize("query", ["before=abc", "before=-1", "before=1.5", "before=99999999999999999999",
                                   "before=0x10", "after=x", "before=5&after=3", "before=1e3"])
def test_a_bad_bound_is_a_clear_400_never_a_500(app, side, query):
    conversation = long_conversation(3, client_locale="fr", moderator_locale="fr")
    http = logged_in(app, conversation, side)
    url = side_urls(conversation, side)[1]
    for headers in ({"HX-Request": "true"}, {}):
        response = http.get(f"{url}?{query}", headers=headers)
        text = html.unescape(response.get_data(as_text=True))
        assert response.status_code == 400, (query, response.status_code)
        assert "doit être un numéro de message" in text or "pas les deux à la fois" in text, text[:500]
        assert "data-msg-id" not in text


def test_an_empty_bound_is_the_latest_page(app):
    conversation = long_conversation(60)
    http = logged_in(app, conversation, "client")
    text = http.get(f"/profiles/{conversation.profile.id}/messages?before=").get_data(as_text=True)
    assert [int(i) for i in IDS.findall(text)] == conversation.message_ids[-PAGE:]


def test_a_profile_without_a_conversation_yet_has_no_history(app):
    client, profile = make_user(), make_profile()
    http = app.test_client()
    login(http, client.email)
    assert "data-msg-id" not in http.get(f"/profiles/{profile.id}/messages?before=100").get_data(as_text=True)
    page = http.get(f"/profiles/{profile.id}").get_data(as_text=True)
    assert "data-empty" in page and "data-unread-divider" not in page and "data-older" not in page


def read_positions(conversation_id):
    with app_context():
        row = db.session.get(Conversation, conversation_id)
        return row.client_last_read_id, row.profile_last_read_id


def test_the_divider_stands_above_the_first_unseen_message_once(app):
    conversation = long_conversation(120, moderator_locale="fr")
    client_http = logged_in(app, conversation, "client")
    csrf = client_http.csrf
    new = [send(client_http, csrf, conversation.profile.id, text) for text in ("tu es là ?", "allô")]
    assert all(response.status_code == 200 for response in new)
    moderator_http = logged_in(app, conversation, "moderator")
    page = moderator_http.get(f"/moderateur/c/{conversation.conversation_id}").get_data(as_text=True)
    assert page.count("data-unread-divider") == 1
    divider = page.index("data-unread-divider")
    assert "Nouveaux messages" in page[divider:divider + 200]
    first_new = int(IDS.search(new[0].get_data(as_text=True)).group(1))
    assert int(IDS.search(page, divider).group(1)) == first_new      # right above "tu es là ?"
    assert "allô" in page[divider:] and "message 120" in page[:divider]
    newest = int(IDS.findall(page)[-1])
    assert read_positions(conversation.conversation_id)[1] == conversation.message_ids[-1]   # loaded, not seen
    assert f'data-read-up-to="{conversation.message_ids[-1]}"' in page
    assert moderator_http.get(f"/moderateur/c/{conversation.conversation_id}").get_data(as_text=True).count(
        "data-unread-divider") == 1
    assert moderator_http.post(f"/moderateur/c/{conversation.conversation_id}/read", data={"up_to": newest},
                               headers={"X-CSRFToken": moderator_http.csrf}).status_code == 204   # the page showed it
    assert read_positions(conversation.conversation_id)[1] == newest
    again = moderator_http.get(f"/moderateur/c/{conversation.conversation_id}").get_data(as_text=True)
    assert "data-unread-divider" not in again
    # The client's own messages are nothing new to them.
    assert "data-unread-divider" not in client_http.get(f"/profiles/{conversation.profile.id}").get_data(as_text=True)


def test_pages_report_how_far_their_reader_has_read(app):
    conversation = long_conversation(10, read=False)
    ids = conversation.message_ids
    client_http = logged_in(app, conversation, "client")
    csrf = client_http.csrf
    url = f"/profiles/{conversation.profile.id}/read"
    assert client_http.post(url, data={"up_to": ids[4]}, headers={"X-CSRFToken": csrf}).status_code == 204
    assert read_positions(conversation.conversation_id) == (ids[4], None)
    for data in ({"up_to": "abc"}, {}, {"up_to": "-3"}):
        response = client_http.post(url, data=data, headers={"X-CSRFToken": csrf, "HX-Request": "true"})
        assert response.status_code == 400, data
    assert client_http.post(url, data={"up_to": ids[-1]}).status_code == 400            # no CSRF token
    assert read_positions(conversation.conversation_id) == (ids[4], None)

    outsider = app.test_client()
    csrf_outsider = login(outsider, make_user(conversation.moderator.role).email)
    url = f"/moderateur/c/{conversation.conversation_id}/read"
    assert outsider.post(url, data={"up_to": ids[-1]}, headers={"X-CSRFToken": csrf_outsider}).status_code == 403
    moderator_http = logged_in(app, conversation, "moderator")
    csrf_moderator = moderator_http.csrf
    assert moderator_http.post(url, data={"up_to": ids[-1]}, headers={"X-CSRFToken": csrf_moderator}).status_code == 204
    assert read_positions(conversation.conversation_id) == (ids[4], ids[-1])
