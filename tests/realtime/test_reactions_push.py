"""A reaction reaches the other side over a real socket (real gunicorn), each side's own pressed."""
import re

import pytest

from app.models import Role
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user
from tests.support.http import LiveSession, login, post_message
from tests.support.sockets import open_socket, receive_until
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def _online(user_id):
    from app.extensions import db
    from app.models import User

    with app_context():
        db.session.expire_all()
        return db.session.get(User, user_id).is_online


def test_a_reaction_is_pushed_to_the_other_side_and_back(web_server):
    moderator = make_user(Role.MODERATOR)
    client, profile = make_user(locale="fr"), make_profile()
    mod_session, client_session = LiveSession(web_server.url), LiveSession(web_server.url)
    csrf_mod = login(mod_session, moderator.email)
    csrf_client = login(client_session, client.email)
    mod_ws, client_ws = open_socket(mod_session), open_socket(client_session)
    try:
        wait_until(lambda: _online(moderator.id))
        post_message(client_session, csrf_client, profile.id, "une question")
        pushed = receive_until(mod_ws, "une question")
        message_id = int(re.search(r'data-msg-id="(\d+)"', pushed).group(1))

        answer = client_session.post(f"/messages/{message_id}/reactions", data={"emoji": "🙏"},
                                     headers={"X-CSRFToken": csrf_client, "HX-Request": "true"})
        assert answer.status_code == 200
        to_moderator = receive_until(mod_ws, f'id="reactions-{message_id}"')
        assert 'hx-swap-oob="true"' in to_moderator and "🙏" in to_moderator
        assert 'aria-pressed="false"' in to_moderator  # the client's, not the profile's

        mod_session.post(f"/messages/{message_id}/reactions", data={"emoji": "🙏"},
                         headers={"X-CSRFToken": csrf_mod, "HX-Request": "true"})
        to_client = receive_until(client_ws, '<span class="count">2</span>')
        assert f'id="reactions-{message_id}"' in to_client and 'aria-pressed="true"' in to_client
        assert "Retirer votre réaction" in to_client  # in the client's language
    finally:
        mod_ws.close()
        client_ws.close()
