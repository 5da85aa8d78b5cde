"""Unread counts and receipts pushed over real WebSockets (real gunicorn + gevent): a reply reaches
a client whatever page they are on, as their conversation's entry and their badge; reading moves
the other side's "Seen"."""
import re

import pytest

from app.models import Role
from tests.support.factories import make_profile, make_user, token
from tests.support.http import LiveSession, login, post_message
from tests.support.sockets import open_socket, receive_until
from tests.support.waiting import wait_until
from tests.realtime.test_push import _online

pytestmark = pytest.mark.slow


def test_a_reply_reaches_a_client_on_the_profile_list_as_an_updated_badge_and_reading_moves_the_receipts(web_server):
    moderator = make_user(Role.MODERATOR)
    client, other_client, profile = make_user(), make_user(), make_profile("Iris")
    mod_session, client_session = LiveSession(web_server.url), LiveSession(web_server.url)
    login(mod_session, moderator.email)
    csrf_client = login(client_session, client.email)
    other_session = LiveSession(web_server.url)
    login(other_session, other_client.email)
    mod_ws = open_socket(mod_session)
    try:
        wait_until(lambda: _online(moderator.id))
        post_message(client_session, csrf_client, profile.id, "tu es là ?")
        pushed = receive_until(mod_ws, "tu es là ?")
        conversation_id = int(pushed.split('id="messages-c')[1].split('"')[0])
        # The client is on the profile list now: its socket, not a conversation page.
        assert 'id="conv-strip"' in client_session.get("/profiles").text
        client_ws, other_ws = open_socket(client_session), open_socket(other_session)
        try:
            csrf_mod = login(mod_session, moderator.email)
            response = mod_session.post(f"/moderateur/c/{conversation_id}/messages",
                                        data={"body": "oui, je suis là", "client_token": token()},
                                        headers={"X-CSRFToken": csrf_mod, "HX-Request": "true"})
            assert response.status_code == 200
            reply_id = int(re.search(r'data-msg-id="(\d+)"', response.text).group(1))
            pushed = receive_until(client_ws, "oui, je suis là")
            assert 'hx-swap-oob="afterbegin:#conv-strip"' in pushed and f'id="strip-p{profile.id}"' in pushed
            assert re.search(r'id="unread-total"[^>]*data-unread-total="1"', pushed.replace("\n", " ")), pushed
            assert '"badge unread-count"' in pushed

            # The client reads it: the moderator sees "Seen HH:MM", the client's badge empties.
            response = client_session.post(f"/profiles/{profile.id}/read", data={"up_to": reply_id},
                                           headers={"X-CSRFToken": csrf_client})
            assert response.status_code == 204
            receipt = receive_until(mod_ws, "Seen ")
            assert f'id="receipt-c{conversation_id}"' in receipt and re.search(r"Seen \d\d:\d\d", receipt)
            cleared = receive_until(client_ws, 'data-unread-total="0"')
            assert 'hx-swap-oob="outerHTML"' in cleared and f'id="strip-p{profile.id}"' in cleared

            # The moderator reads the client's next message: the client sees "Seen".
            post_message(client_session, csrf_client, profile.id, "super")
            pushed = receive_until(mod_ws, "super")
            message_id = int(re.findall(r'data-msg-id="(\d+)"', pushed)[-1])
            response = mod_session.post(f"/moderateur/c/{conversation_id}/read", data={"up_to": message_id},
                                        headers={"X-CSRFToken": csrf_mod})
            assert response.status_code == 204
            receipt = receive_until(client_ws, ">Seen<")
            assert f'id="receipt-p{profile.id}"' in receipt
            # Nothing of it reached another client.
            with pytest.raises(AssertionError):
                receive_until(other_ws, "receipt", timeout=1.0)
        finally:
            client_ws.close()
            other_ws.close()
    finally:
        mod_ws.close()
