"""A socket lives for hours: after each piece of database work it does for its page (opening,
recording typing, pushing a typing signal), it hands back its database connection *and* drops its
session object, so that thousands of idle sockets do not each keep a session (with the objects it
loaded) alive beside them.

Each piece runs here as the socket runs it (real database and Redis): the opening in the /ws
request, the others in an app context of the socket's greenlet; the scoped session registry must
hold no session for that context afterwards."""
from app.extensions import db
from app.models import Role
from app.realtime import socket as page_socket
from app.realtime.typing_indicator import typing_signalled
from app.redis_client import get_redis
from tests.support.factories import make_user


class _Socket:
    """What ``_opened`` needs of the WebSocket: ``close``, called only when the socket is refused."""

    def close(self, **_kwargs):
        raise AssertionError("the socket was refused")


def test_opening_a_socket_keeps_no_session(app):
    moderator = make_user(Role.MODERATOR)
    with app.test_request_context("/ws"):
        assert page_socket._opened(_Socket(), get_redis(), moderator.id, "socket-1")
        assert not db.session.registry.has()
        page_socket._closed(get_redis(), moderator.id, "socket-1")


def test_recording_typing_keeps_no_session(app):
    moderator = make_user(Role.MODERATOR)
    with app.app_context():
        page_socket._record_activity(moderator.id, None)
        assert not db.session.registry.has()
        typing_signalled(moderator.id, 12345, 0.0)  # a conversation the user has no part in: nothing pushed
        assert not db.session.registry.has()
