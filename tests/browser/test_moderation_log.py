"""The moderation log in the browser: the moderator opens a conversation and the client card shows
the client's ban (by an admin, with its reason and end); the admin filters the log page by client."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from app.clock import utcnow
from app.database import write_transaction
from app.models import Role
from app.services.moderation import log
from tests.support.browser import DESKTOP, admin_menu, LIVE, log_in, require_chromium
from tests.support.context import app_context
from tests.support.factories import make_user
from tests.support.search import conversation_with, moderator

require_chromium()


def test_the_card_shows_the_clients_log_and_the_admin_filters_it(new_context, browser_problems, shot, web_server):
    mod = moderator()
    written = conversation_with(mod, "bonjour", client_name="Zoé")
    admin = make_user(Role.ADMIN, display_name="Ada")
    with app_context():
        with write_transaction():
            log.record("mute", actor=admin, subject=written.client.id, now=utcnow(), reason="spam <b>links</b>",
                       until=utcnow() + timedelta(hours=2))
            log.record("warn", actor=admin, subject=make_user(display_name="Other").id, now=utcnow(), reason="rude")

    page = browser_problems.watch(new_context(**DESKTOP), "moderator")
    log_in(page, web_server.url, mod.email)
    expect(page.locator("body")).to_have_class(LIVE)
    page.locator(f"[data-conversation='{written.conversation_id}'] a, a[href$='/c/{written.conversation_id}']").first.click()
    line = page.locator(".client-log [data-client-log-line]")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("Muted")
    expect(line).to_contain_text("by an admin")
    expect(line).to_contain_text("spam <b>links</b>")  # text, not markup
    expect(page.locator(".client-log")).not_to_contain_text("Ada")
    shot(page, "moderation_client_card")

    admin_page = browser_problems.watch(new_context(**DESKTOP), "admin")
    log_in(admin_page, web_server.url, admin.email)
    admin_menu(admin_page, "/admin/moderation")
    expect(admin_page.locator("[data-log-line]")).to_have_count(2)
    admin_page.get_by_label("Client (address or #)").fill(written.client.email)
    admin_page.get_by_role("button", name="Filter").click()
    expect(admin_page.locator("[data-log-line]")).to_have_count(1)
    expect(admin_page.locator("[data-log-line]")).to_contain_text("Zoé")
    admin_page.get_by_label("Action").select_option("warn")
    admin_page.get_by_role("button", name="Filter").click()
    expect(admin_page.locator("tbody")).to_contain_text("No moderation action recorded.")
    admin_page.get_by_label("Action").select_option("")
    admin_page.get_by_role("button", name="Filter").click()
    shot(admin_page, "moderation_log_admin", full_page=True)
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))
