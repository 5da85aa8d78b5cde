"""Every decision moves queue positions, so it refreshes every queued moderator's queue panel: that
refresh renders the panel a few times (per language and shape), not once per queued moderator,
and each moderator still gets exactly their own panel."""
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask_login import login_user
from jinja2 import Template

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Role, User
from app.realtime import push
from app.realtime.hub import get_hub
from app.services import moderator_queue, sending
from app.services.moderator_queue import Status
from tests.support.factories import make_profile, make_user, token

LOCALES = ["en", "fr", "de"]
PANEL = "moderator/_queue.html"


@pytest.fixture
def panel_renders(monkeypatch):
    """Renders of the queue panel's template, counted at Jinja's door."""
    renders = Counter()
    render = Template.render

    def counted(self, *args, **kwargs):
        renders[self.name] += 1
        return render(self, *args, **kwargs)

    monkeypatch.setattr(Template, "render", counted)
    return renders


def _panels(connections) -> dict[int, list[str]]:
    """The queue panels written to each socket's mailbox so far (waits until none came for 0.5 s)."""
    panels: dict[int, list[str]] = {}
    quiet_until = time.monotonic() + 0.5
    while time.monotonic() < quiet_until:
        got = False
        for conn in connections:
            fragment = conn.take()
            if fragment is None:
                continue
            got = True
            if fragment and 'id="queue-status"' in fragment:
                panels.setdefault(conn.user_id, []).append(fragment)
        if got:
            quiet_until = time.monotonic() + 0.5
        else:
            time.sleep(0.02)
    return panels


def test_a_decision_renders_the_queue_panel_per_language_not_per_queued_moderator(app, panel_renders):
    """One broadcast, and each process writes the panels of the sockets it holds: here 20 of the
    30 queued moderators have a socket in this process."""
    moderators = [make_user(Role.MODERATOR, online=True, locale=LOCALES[i % len(LOCALES)]) for i in range(30)]
    here = moderators[:20]
    client, profile = make_user(), make_profile("Iris")
    with app.app_context():
        hub = get_hub()
    connections = [hub.register(moderator.id) for moderator in here]
    try:
        deadline = time.monotonic() + 10
        while not hub.listening and time.monotonic() < deadline:
            time.sleep(0.02)
        _panels(connections)  # what came before the decision
        panel_renders.clear()
        with app.test_request_context("/"):
            sender = db.session.get(User, client.id)
            login_user(sender)
            with write_transaction():  # the decision: a new conversation for the first in line
                sending.post_client_message(sender, profile.id, "bonjour", token(), utcnow())
            db.session.remove()
        panels = _panels(connections)
        renders = panel_renders[PANEL]
    finally:
        for conn in connections:
            hub.unregister(conn)
    # Every queued moderator with a socket here got one panel: their own, as rendering it for them
    # alone gives; the others none from this process.
    assert sorted(panels) == sorted(m.id for m in here)
    with app.test_request_context("/"):
        statuses = moderator_queue.statuses(utcnow(), app.config["QUEUE_DEFAULT_WAIT_SECONDS"])
        for moderator in here:
            user = db.session.get(User, moderator.id)
            assert panels[moderator.id] == [push._render_for(user, PANEL, status=statuses[moderator.id], oob=True)]
        db.session.remove()
    assert 0 < renders <= 2 * len(LOCALES) < len(here)


STATUSES = [
    Status(in_queue=True, position=1, queued=12, estimated_wait_seconds=0, waiting_unassigned=3, profiles_available=1),
    Status(in_queue=True, position=7, queued=12, estimated_wait_seconds=0, waiting_unassigned=9, profiles_available=0),
    Status(in_queue=True, position=4, queued=12, estimated_wait_seconds=61, waiting_unassigned=3, profiles_available=2),
    Status(in_queue=True, position=12, queued=12, estimated_wait_seconds=540, waiting_unassigned=3, profiles_available=2),
    Status(in_queue=True, position=2, queued=2, estimated_wait_seconds=120, waiting_unassigned=0, profiles_available=1),
    Status(in_queue=False, queued=12, waiting_unassigned=3, profiles_available=2),
]


@pytest.mark.parametrize("locale", ["en", "fr", "de", "es"])
def test_each_panel_filled_in_from_a_shared_render_is_the_panel_rendered_for_its_moderator(app, locale):
    moderator = make_user(Role.MODERATOR, locale=locale)
    with app.test_request_context("/"):
        user = db.session.get(User, moderator.id)
        panels = push.QueuePanels()
        for status in STATUSES + STATUSES:  # the second time from the shapes already rendered
            assert panels.panel(user.locale, status) == push._render_for(user, PANEL, status=status, oob=True)
        db.session.remove()


def _panels_heard(ws, count: int, timeout: float = 15.0) -> list[tuple[float, str]]:
    """The first ``count`` queue panels pushed to this socket, each with when it was read (a panel
    is read as soon as it comes, or at once if it came before the reading began)."""
    heard, deadline = [], time.monotonic() + timeout
    while len(heard) < count and time.monotonic() < deadline:
        try:
            frame = ws.recv(timeout=max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            continue
        if 'id="queue-status"' in frame:
            heard.append((time.monotonic(), frame))
    assert len(heard) == count, heard
    return heard


@pytest.mark.slow
def test_a_process_writing_many_panels_spaces_its_refreshes_and_ends_on_the_latest_positions(app):
    """A real gunicorn process allowed one panel a second, two queued moderators' sockets on it:
    a change refreshes their panels at once, one after the other a second apart (not both in one
    burst), the next change of the burst waits until that refresh is out (not only the 0.2 s of
    QUEUE_PUSH_INTERVAL_SECONDS) and shows the queue as it is then."""
    from tests.support.context import app_context
    from tests.support.http import LiveSession, login
    from tests.support.processes import WebServer
    from tests.support.sockets import open_socket, until_hearing

    server = WebServer(QUEUE_PUSH_INTERVAL_SECONDS="0.2", QUEUE_PANELS_PER_SECOND="1").start()
    sockets = []
    try:
        here = [make_user(Role.MODERATOR, online=True) for _ in range(2)]
        elsewhere = make_user(Role.MODERATOR, online=True)             # queued, no socket on this process
        for moderator in here:
            session = LiveSession(server.url)
            login(session, moderator.email)
            sockets.append(open_socket(session))
            until_hearing(sockets[-1], moderator.id)
        changed_at = time.monotonic()
        with app_context():
            with write_transaction():
                assert moderator_queue.leave(elsewhere.id)              # 2 in the queue
        time.sleep(0.3)
        with app_context():
            with write_transaction():
                moderator_queue.join(elsewhere.id, utcnow())            # 3 again, within the pause
        with ThreadPoolExecutor(2) as readers:                          # both read as the panels come
            heard = list(readers.map(lambda ws: _panels_heard(ws, 2), sockets))
        for (_, first), (second_at, second) in heard:
            assert "of 2" in first and "of 3" in second
            assert second_at - changed_at >= 1.5, second_at - changed_at
        first_refresh = sorted(at for (at, _), _ in heard)
        # one panel a second (a burst would be milliseconds apart; each arrival time is read by a
        # thread of this test, late by up to a few tenths of a second on a busy machine)
        assert first_refresh[1] - first_refresh[0] >= 0.5, first_refresh
    finally:
        for ws in sockets:
            ws.close()
        server.stop()
