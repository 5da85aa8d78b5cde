"""Two deployments on one Redis server never hear each other.

Redis pub/sub ignores the database number: a push or a kick published by one deployment to a
channel that another deployment's hub also listens on would reach that other deployment's user
of the same id. Every name carries the deployment's prefix (``REDIS_PREFIX``; unset, derived
from the database URL), so each hears only its own."""
from __future__ import annotations

import ast
import os
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from app import create_app
from app.config import TestConfig
from app.realtime.hub import RECONNECT, Hub, envelope, publish, publish_kick
from app.redis_client import Names, default_prefix, get_redis, names
from tests.support.factories import make_user
from tests.support.http import LiveSession, csrf_from, login
from tests.support.processes import ROOT, WebServer
from tests.support.sockets import open_socket, queued, receive_until

OTHER_PREFIX = "sb-other-deployment"


class OtherDatabase(TestConfig):
    """Another deployment: its own database, the same Redis server, no REDIS_PREFIX set."""
    SQLALCHEMY_DATABASE_URI = "sqlite:///" + os.path.join(os.environ["SWITCHBOARD_INSTANCE"], "other.db")
    REDIS_PREFIX = ""


def _heard(r, channel: str, conn) -> None:
    """Wait until a hub hears its own channel (it subscribes in the background), then drop the pings."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r.publish(channel, envelope("", "ping"))
        if "ping" in queued(conn, 0.2):
            queued(conn, 0.3)
            return
    raise AssertionError("the hub never subscribed")


def test_the_default_prefix_differs_between_databases_and_agrees_within_one(app):
    other = create_app(OtherDatabase)
    assert other.config["REDIS_PREFIX"] != app.config["REDIS_PREFIX"]
    # the web server and the worker of one deployment read the same database URL: the same prefix
    assert default_prefix(app.config["SQLALCHEMY_DATABASE_URI"]) == app.config["REDIS_PREFIX"]
    # the password is not part of what is hashed (the prefix is visible to whoever reads Redis)
    assert default_prefix("postgresql+psycopg://u:one@db/x") == default_prefix("postgresql+psycopg://u:two@db/x")
    assert default_prefix("postgresql+psycopg://u@db/x") != default_prefix("postgresql+psycopg://u@db/y")


@pytest.mark.parametrize("bad", ["sb:*", "a?b", "x[1]", "with space", ""])
def test_a_prefix_that_would_be_a_pattern_is_refused(bad):
    with pytest.raises(RuntimeError, match="REDIS_PREFIX"):
        Names(bad)


def test_a_push_or_kick_of_one_deployment_does_not_reach_the_other_deployments_user_of_the_same_id(app):
    """Two apps with different databases on one Redis server; each hub holds a socket of user 7201."""
    other = create_app(OtherDatabase)
    url = app.config["REDIS_URL"]
    with app.app_context():
        r = get_redis()
        ours = Hub(url, app.extensions["redis_names"])
        theirs = other.extensions["hub"]  # the other app's own hub, as its init_app made it
        mine, not_mine = ours.register(7201), theirs.register(7201)
        try:
            _heard(r, app.extensions["redis_names"].user_channel(7201), mine)
            _heard(r, other.extensions["redis_names"].user_channel(7201), not_mine)

            publish(r, 7201, "<div id='a'>for our user</div>")  # this app's publish, through Redis
            with other.app_context():
                publish(r, 7201, "<div id='b'>for their user</div>")
            assert queued(mine, 0.5) == ["<div id='a'>for our user</div>"]
            assert queued(not_mine, 0.5) == ["<div id='b'>for their user</div>"]

            publish_kick(r, 7201)  # ours only
            time.sleep(0.5)
            assert mine.close_code == RECONNECT
            assert not_mine.close_code is None
            with other.app_context():
                publish_kick(r, None)  # theirs: everyone of the other deployment
            deadline = time.monotonic() + 5
            while not_mine.close_code is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not_mine.close_code == RECONNECT
        finally:
            ours.stop(r)
            theirs.stop(r)


def _frames_until(ws, needle: str, timeout: float = 10.0) -> list[str]:
    """Every frame received up to and with the first one containing ``needle``."""
    frames, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            frames.append(ws.recv(timeout=max(0.05, deadline - time.monotonic())))
        except TimeoutError:
            continue
        if needle in frames[-1]:
            return frames
    raise AssertionError(f"{needle!r} not pushed; got {frames!r}")


def _socket_listening(session_ws, r, channel: str, marker: str):
    """Publish ``marker`` on ``channel`` until the socket receives it (its hub subscribes when it opens)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        r.publish(channel, envelope("", f"<div id='{marker}'>{marker}</div>"))
        try:
            return receive_until(session_ws, marker, timeout=0.5)
        except AssertionError:
            continue
    raise AssertionError(f"{marker} never reached the socket")


@pytest.mark.slow
def test_real_sockets_of_two_deployments_on_one_redis_hear_only_their_own(app, web_server):
    """Our server (the test database's default prefix) and another deployment's (REDIS_PREFIX set)
    on one Redis server, the same user logged in on both: pushes and kicks of ours reach only ours."""
    theirs = WebServer(REDIS_PREFIX=OTHER_PREFIX).start()
    try:
        user = make_user()
        ours_session, their_session = LiveSession(web_server.url), LiveSession(theirs.url)
        login(ours_session, user.email)
        login(their_session, user.email)
        with app.app_context():
            r = get_redis()
            our_channel = names().user_channel(user.id)
        their_channel = Names(OTHER_PREFIX).user_channel(user.id)
        ours_ws, theirs_ws = open_socket(ours_session), open_socket(their_session)
        try:
            _socket_listening(ours_ws, r, our_channel, "ours-ready")
            _socket_listening(theirs_ws, r, their_channel, "theirs-ready")

            with app.app_context():
                publish(r, user.id, "<div id='secret'>for our deployment only</div>")
            receive_until(ours_ws, "for our deployment only")
            r.publish(their_channel, envelope("", "<div id='after'>their own push</div>"))
            # published after ours on the same connection: had theirs heard ours, it came first
            frames = _frames_until(theirs_ws, "their own push")
            assert not [f for f in frames if "for our deployment only" in f]

            with app.app_context():
                publish_kick(r, None)  # every socket of our deployment
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ours_ws.recv(timeout=5)
            assert closed.value.rcvd.code == RECONNECT
            r.publish(their_channel, envelope("", "<div id='still'>still open</div>"))
            receive_until(theirs_ws, "still open")  # theirs was not kicked
        finally:
            ours_ws.close()
            theirs_ws.close()
    finally:
        theirs.stop()


class Limited(TestConfig):
    RATELIMIT_ENABLED = True


def test_the_rate_limiter_keys_carry_the_prefix(app):
    """Flask-Limiter's counters live in the same Redis: under the deployment's prefix too."""
    limited = create_app(Limited)
    client = limited.test_client()
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": "nobody@example.test", "password": "x", "csrf_token": csrf})
    with app.app_context():
        keys = [k.decode() for k in get_redis().scan_iter("LIMITS*", count=1000)]
    assert keys, "the login limit stored nothing"
    assert all(app.config["REDIS_PREFIX"] in key for key in keys), keys


def test_no_redis_name_is_written_by_hand_outside_redis_client():
    """Channel and key names are built by ``redis_client.Names`` only: a name formatted elsewhere
    would miss the deployment's prefix. No string in app/, worker.py or bench/ starts with "sb:",
    and no publish/subscribe is given a literal channel."""
    files = [p for p in (ROOT / "app").rglob("*.py") if p != ROOT / "app" / "redis_client.py"]
    files += [ROOT / "worker.py", *(ROOT / "bench").rglob("*.py")]
    found = []
    for path in files:
        tree = ast.parse(Path(path).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("sb:"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("publish", "subscribe", "psubscribe") and node.args
                    and isinstance(node.args[0], (ast.Constant, ast.JoinedStr))):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.func.attr} on a literal channel")
    assert found == []
