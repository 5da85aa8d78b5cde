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
from app.realtime.hub import ORIGIN_END, fragment_of, get_hub
from app.redis_client import get_redis, names
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


def _published(pubsub, origin: str) -> dict[int, list[str]]:
    """Every queue panel this process published so far, by moderator (Redis channels are shared
    by every database of the server: other processes' fragments are left out by their origin)."""
    panels: dict[int, list[str]] = {}
    quiet_until = time.monotonic() + 0.5
    while time.monotonic() < quiet_until:
        message = pubsub.get_message(timeout=0.1)  # None also for the ignored subscription notice
        if message is None or message["type"] != "pmessage":
            continue
        data = message["data"].decode() if isinstance(message["data"], bytes) else message["data"]
        if data.partition(ORIGIN_END)[0] != origin:
            continue
        quiet_until = time.monotonic() + 0.5
        fragment = fragment_of(data)
        if 'id="queue-status"' in fragment:
            channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
            panels.setdefault(int(channel.rsplit(":", 1)[1]), []).append(fragment)
    return panels


def test_a_decision_renders_the_queue_panel_per_language_not_per_queued_moderator(app, panel_renders):
    moderators = [make_user(Role.MODERATOR, online=True, locale=LOCALES[i % len(LOCALES)]) for i in range(30)]
    client, profile = make_user(), make_profile("Iris")
    with app.app_context():
        pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
        pubsub.psubscribe(names().user_channels)
    panel_renders.clear()
    try:
        with app.test_request_context("/"):
            sender = db.session.get(User, client.id)
            login_user(sender)
            with write_transaction():  # the decision: a new conversation for the first in line
                sending.post_client_message(sender, profile.id, "bonjour", token(), utcnow())
            db.session.remove()
        renders = panel_renders[PANEL]
        with app.app_context():
            origin = get_hub().origin
        panels = _published(pubsub, origin)
    finally:
        pubsub.close()
    # Every queued moderator got one panel: their own, as rendering it for them alone gives.
    assert sorted(panels) == sorted(m.id for m in moderators)
    with app.test_request_context("/"):
        statuses = moderator_queue.statuses(utcnow(), app.config["QUEUE_DEFAULT_WAIT_SECONDS"])
        for moderator in moderators:
            user = db.session.get(User, moderator.id)
            assert panels[moderator.id] == [push._render_for(user, PANEL, status=statuses[moderator.id], oob=True)]
        db.session.remove()
    assert 0 < renders <= 2 * len(LOCALES) < len(moderators)


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
            assert panels.panel(user, status) == push._render_for(user, PANEL, status=status, oob=True)
        db.session.remove()
