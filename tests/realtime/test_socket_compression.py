"""A browser offers compression (permessage-deflate) on every socket; the server declines it: a
zlib context kept for each of thousands of open sockets costs more memory than the rest of the
socket. The page's pushes are small HTML fragments."""
from tests.support.factories import make_user
from tests.support.http import LiveSession, login
from tests.support.sockets import open_socket


def test_a_socket_offered_compression_is_opened_without_it(web_server):
    user = make_user()
    session = LiveSession(web_server.url)
    login(session, user.email)
    ws = open_socket(session)  # the client offers permessage-deflate, as browsers do
    try:
        assert "permessage-deflate" in ws.request.headers["Sec-WebSocket-Extensions"]
        assert ws.response.status_code == 101
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
    finally:
        ws.close()
