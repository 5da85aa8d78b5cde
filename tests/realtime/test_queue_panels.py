"""Every decision moves queue positions, so it refreshes every queued moderator's queue panel: that
refresh renders the panel a few times (per language and shape), not once per queued moderator,
and each moderator still gets exactly their own panel."""
import time
from collections import Counter

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
