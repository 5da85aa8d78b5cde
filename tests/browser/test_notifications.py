"""The bell in two tabs of one person: a notification raises the count in both at once, marking
it read in the first lowers it in the second, and a new one arriving while the first marks all
read shows up in the second; each tab's count is the server's."""
from __future__ import annotations

import re
from datetime import datetime

from playwright.sync_api import expect

from app.database import write_transaction
from app.services import notifications
from tests.browser.conftest import Problem
from tests.support.browser import DESKTOP, LIVE, PHONE, log_in, require_chromium
from tests.support.context import app_context
from tests.support.factories import make_user

require_chromium()
NOW = datetime(2026, 12, 6, 12, 0, 0)


def until_hearing(page, user_id: int) -> None:
    """Return once a push reaches this page: its process subscribes to Redis when its first socket
    opens, and a push published before that is lost (the page would fetch the count again only on
    a reconnect). The probe is the badge as it stands (no notification yet), marked."""
    from app.realtime.hub import publish
    from app.redis_client import get_redis

    for probe in range(1, 41):
        with app_context():
            publish(get_redis(), user_id, f'<span id="notif-count" class="notif-count" data-unread="0" '
                                          f'data-probe="{probe}" hx-swap-oob="true" hidden>0</span>')
        try:
            expect(page.locator(f'#notif-count[data-probe="{probe}"]')).to_have_count(1, timeout=500)
            return
        except AssertionError:
            continue
    raise AssertionError("the page heard no push")


def ticket_event(user_id: int, ticket_id: int, subject: str) -> None:
    """What a ticket's change does for its opener (written here as a job would)."""
    with app_context():
        with write_transaction():
            notifications.notify(user_id, "ticket", f"ticket:{ticket_id}", now=NOW, link="/profiles",
                                 params={"ticket_id": ticket_id, "subject": subject, "action": "commented"})


def test_the_count_follows_in_a_second_tab_while_the_first_marks_read(new_context, browser_problems, shot, web_server):
    client = make_user(display_name="Noor")
    context = new_context(**DESKTOP)
    first = browser_problems.watch(context, "first")
    log_in(first, web_server.url, client.email)
    second = context.new_page()  # the same person, another tab (the context's CSP listener covers it)
    second.on("pageerror", lambda exc: browser_problems.problems.append(Problem("second", "pageerror", str(exc),
                                                                                browser_problems.phase)))
    second.goto(f"{web_server.url}/profiles")
    for page in (first, second):
        expect(page.locator("body")).to_have_class(LIVE)
        until_hearing(page, client.id)
        expect(page.locator("#notif-count")).to_be_hidden()

    ticket_event(client.id, 1, "Photo upload fails")
    ticket_event(client.id, 2, "Billing question")
    for page in (first, second):
        expect(page.locator("#notif-count")).to_have_text("2", timeout=3000)

    first.locator("#notif-bell").click()
    panel = first.locator("#notif-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".notif-item")).to_have_count(2)
    expect(panel.locator(".notif-item").first).to_contain_text("Billing question")
    shot(first, "notifications_panel_desktop")
    panel.locator(".notif-item").first.get_by_role("button", name="Mark read").click()
    expect(second.locator("#notif-count")).to_have_text("1", timeout=3000)
    expect(first.locator("#notif-count")).to_have_text("1")

    ticket_event(client.id, 3, "Another one")  # arrives while the first tab clears the rest
    first.get_by_role("button", name="Mark all read").click()
    expect(first.locator("#notif-count")).to_be_hidden(timeout=3000)
    expect(second.locator("#notif-count")).to_be_hidden(timeout=3000)
    with app_context():
        assert notifications.count_unread(client.id) == 0

    first.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))


def test_on_a_phone_the_panel_fits_the_screen_and_opens_where_it_points(new_context, browser_problems, shot,
                                                                           web_server):
    client = make_user(display_name="Ines", locale="fr")
    page = browser_problems.watch(new_context(**PHONE), "phone")
    log_in(page, web_server.url, client.email, touch=True)
    expect(page.locator("body")).to_have_class(LIVE)
    until_hearing(page, client.id)
    ticket_event(client.id, 9, "Je ne peux pas envoyer de photo")
    expect(page.locator("#notif-count")).to_have_text("1", timeout=3000)
    page.locator("#notif-bell").tap()
    panel = page.locator("#notif-panel")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["viewport"]["width"], box
    shot(page, "notifications_panel_phone")
    panel.locator(".notif-text").first.tap()
    page.wait_for_url(re.compile(r"/profiles$"))
    expect(page.locator("#notif-count")).to_be_hidden()
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))
