"""A moderator's presence as the browser drives it: a reload stays online, closing the page is
offline within seconds — through the socket's close and, with no socket at all, through the
page's heartbeat and goodbye beacon alone. The admin sees it on the rounds page."""
from __future__ import annotations

import time
from datetime import timedelta

from playwright.sync_api import expect

from app.database import write_transaction
from app.extensions import db
from app.models import Role, User
from app.clock import utcnow
from app.services import rounds
from tests.support.browser import DESKTOP, LIVE, is_online, log_in, require_chromium
from tests.support.context import app_context
from tests.support.factories import make_user
from tests.support.processes import WebServer
from tests.support.rounds import moderators_with_loads, post_waiting
from tests.support.waiting import wait_until

require_chromium()

GRACE = 2


def heartbeat_at(user_id: int):
    with app_context():
        db.session.expire_all()
        return db.session.get(User, user_id).last_heartbeat_at


def test_reload_stays_online_and_closing_the_page_goes_offline_within_seconds(new_context, browser_problems, shot,
                                                                              rq_worker):
    server = WebServer(PRESENCE_GRACE_SECONDS=GRACE).start()
    try:
        moderator = make_user(Role.MODERATOR, display_name="Nora Présente")
        page = browser_problems.watch(new_context(**DESKTOP), "moderator")
        log_in(page, server.url, moderator.email)
        expect(page.locator("body")).to_have_class(LIVE)
        wait_until(lambda: is_online(moderator.id))
        wait_until(lambda: heartbeat_at(moderator.id) is not None)        # presence.js beat on load

        # A reload: goodbye beacon and socket close from the old page, a new socket from the new one.
        page.reload()
        expect(page.locator("body")).to_have_class(LIVE)
        samples = []
        deadline = time.monotonic() + GRACE + 3
        while time.monotonic() < deadline:
            samples.append(is_online(moderator.id))
            time.sleep(0.25)
        assert all(samples), "the reload made the moderator flap offline"

        # Closing the page: offline within seconds.
        page.close(run_before_unload=True)
        started = time.monotonic()
        wait_until(lambda: not is_online(moderator.id), timeout=GRACE + 10)
        went_offline_after = time.monotonic() - started
        assert went_offline_after < GRACE + 10

        # The admin sees it, next to the rounds.
        now = utcnow()
        with app_context():
            moderators_with_loads([0, 1, 2, 3], now - timedelta(minutes=1))
            post_waiting(7, now - timedelta(minutes=12))
            with write_transaction():
                rounds.start_notification_round(now, rounds.Settings())
        admin = browser_problems.watch(new_context(**DESKTOP), "admin")
        log_in(admin, server.url, make_user(Role.ADMIN, display_name="Admin").email)
        admin.goto(f"{server.url}/admin/rounds")
        row = admin.locator("#moderator-presence tr").filter(has_text="Nora Présente")
        expect(row).to_contain_text("offline")
        expect(admin.locator("#rounds-history tbody tr")).to_have_count(1)
        shot(admin, "admin_rounds", full_page=True)
    finally:
        server.stop()
    assert browser_problems.unexpected() == []


def test_without_a_socket_the_heartbeat_keeps_the_page_online_and_its_beacon_ends_it(new_context, browser_problems,
                                                                                    rq_worker):
    server = WebServer(PRESENCE_GRACE_SECONDS=GRACE).start()
    try:
        moderator = make_user(Role.MODERATOR)
        context = new_context(**DESKTOP)
        # The WebSocket never reaches the server (a proxy that blocks it): presence rests on HTTP alone.
        context.route_web_socket("**/ws", lambda ws: None)
        page = browser_problems.watch(context, "moderator")
        log_in(page, server.url, moderator.email)
        wait_until(lambda: is_online(moderator.id))                       # brought online by the heartbeat
        assert heartbeat_at(moderator.id) is not None
        time.sleep(GRACE + 1)
        assert is_online(moderator.id)

        page.goto("about:blank")                                          # leaving: the goodbye beacon
        wait_until(lambda: not is_online(moderator.id), timeout=GRACE + 10)
    finally:
        server.stop()
    assert browser_problems.unexpected() == []
