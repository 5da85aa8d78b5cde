"""Two moderators online; one goes idle for a minute (the check runs with the clock moved
forward): the other receives the waiting conversation live, the idle one sees why it left."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from app.database import write_transaction
from app.extensions import db
from app.jobs.inactivity import reassign_idle_moderators_work
from app.models import Role, User
from app.clock import utcnow
from tests.support.browser import DESKTOP, LIVE, PHONE, is_online, log_in, require_chromium, type_and_send
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user
from tests.support.processes import run_job
from tests.support.waiting import wait_until

require_chromium()


def test_idle_moderator_loses_waiting_work_to_the_active_one(new_context, browser_problems, shot, web_server,
                                                              rq_worker):
    idle = make_user(Role.MODERATOR, display_name="Idle Iris")
    active = make_user(Role.MODERATOR, display_name="Active Alex")
    client = make_user(display_name="Chloé", locale="fr")
    profile = make_profile("Hugo", 30)

    idle_page = browser_problems.watch(new_context(**DESKTOP), "idle moderator")
    log_in(idle_page, web_server.url, idle.email)           # connects first: gets the next conversation
    expect(idle_page.locator("body")).to_have_class(LIVE)
    wait_until(lambda: is_online(idle.id))
    active_page = browser_problems.watch(new_context(**DESKTOP), "active moderator")
    log_in(active_page, web_server.url, active.email)
    expect(active_page.locator("body")).to_have_class(LIVE)
    wait_until(lambda: is_online(active.id))

    client_page = browser_problems.watch(new_context(**PHONE), "client")
    log_in(client_page, web_server.url, client.email, touch=True)
    client_page.goto(f"{web_server.url}/profiles/{profile.id}")
    expect(client_page.locator("body")).to_have_class(LIVE)
    type_and_send(client_page, "tu es là ?", touch=True)
    expect(idle_page.locator("#conversation-list li.conv")).to_contain_text("Chloé")
    expect(active_page.locator("#conversation-list li.conv")).to_have_count(0)

    # Two minutes later by the check's clock: the idle moderator did nothing, the other was active.
    later = utcnow() + timedelta(minutes=2)
    with app_context(), write_transaction():
        db.session.get(User, active.id).last_activity_at = later - timedelta(seconds=5)
    assert run_job("high", reassign_idle_moderators_work, later.isoformat()) == 1

    alert = idle_page.locator("#flash .alert")
    expect(alert).to_contain_text(re.compile("no typing or reply for a minute"))
    expect(alert).to_contain_text("Chloé")
    expect(idle_page.locator("#conversation-list li.conv")).to_have_count(0)
    moved = active_page.locator("#conversation-list li.conv")
    expect(moved).to_contain_text("Chloé")
    expect(moved).to_have_class(re.compile(r"\bwaiting\b"))
    shot(idle_page, "inactivity_idle_alert")
    shot(active_page, "inactivity_active_received")

    moved.locator("a").click()
    type_and_send(active_page, "Oui, je suis là !")
    expect(client_page.locator(".msg .body").filter(has_text="Oui, je suis là !")).to_have_count(1)
    assert browser_problems.unexpected() == []
