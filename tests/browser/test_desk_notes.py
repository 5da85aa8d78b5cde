"""A note one moderator writes on a client beside the chat is on the desk of the next moderator
of that profile, once an admin has moved the conversation to them."""
from __future__ import annotations

from playwright.sync_api import expect

from app.clock import utcnow
from app.database import write_transaction
from app.models import ChangeReason, Role
from app.services import assignment, sending
from tests.support.browser import DESKTOP, LIVE, is_online, log_in, require_chromium
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user, token
from tests.support.waiting import wait_until

require_chromium()


def test_a_note_written_by_one_moderator_shows_for_the_next_after_a_reassignment(new_context, browser_problems,
                                                                                 shot, web_server):
    first = make_user(Role.MODERATOR, display_name="Mona")
    second = make_user(Role.MODERATOR, display_name="Nico")
    admin = make_user(Role.ADMIN)
    client = make_user(display_name="Chloé")
    profile = make_profile("Hugo", 30)

    first_page = browser_problems.watch(new_context(**DESKTOP), "first moderator")
    log_in(first_page, web_server.url, first.email)
    expect(first_page.locator("body")).to_have_class(LIVE)
    wait_until(lambda: is_online(first.id))
    with app_context(), write_transaction():
        conversation_id = sending.send_client_message(client.id, profile.id, "J'ai un chien, Rex.", token(),
                                                      utcnow()).message.conversation_id

    first_page.locator("#conversation-list li.conv").filter(has_text="Chloé").locator("a").click()
    desk = first_page.locator(f"#desk-c{conversation_id}")
    expect(desk).to_be_visible()
    note = desk.locator("form[data-desk-form=note] textarea")
    expect(note).to_be_hidden()                          # nothing written yet: folded, the messages keep their room
    desk.locator("> summary").click()
    note.click()
    first_page.keyboard.type("Has a dog called Rex. <b>works nights</b>")
    desk.locator("form[data-desk-form=note] button[type=submit]").click()
    expect(desk.locator(".desk-saved")).to_have_text("Saved.")
    expect(desk.locator("form[data-desk-form=note] .desk-meta")).to_contain_text("Mona")
    shot(first_page, "desk_note_written")
    first_page.context.close()  # Mona is gone; her page would otherwise still report reading what moves away

    with app_context(), write_transaction():
        from app.extensions import db
        from app.models import User
        assert assignment.reassign(conversation_id, second.id, utcnow(), ChangeReason.MANUAL,
                                   actor=db.session.get(User, admin.id))

    second_page = browser_problems.watch(new_context(**DESKTOP), "second moderator")
    log_in(second_page, web_server.url, second.email)
    expect(second_page.locator("body")).to_have_class(LIVE)
    second_page.locator("#conversation-list li.conv").filter(has_text="Chloé").locator("a").click()
    desk = second_page.locator(f"#desk-c{conversation_id}")
    expect(desk.locator("form[data-desk-form=note] textarea")).to_have_value("Has a dog called Rex. <b>works nights</b>")
    expect(desk.locator("form[data-desk-form=note] .desk-meta")).to_contain_text("Last saved by Mona")
    expect(desk.locator("b")).to_have_count(0)          # the markup stays text
    shot(second_page, "desk_note_seen_by_next")

    admin_page = browser_problems.watch(new_context(**DESKTOP), "admin")
    log_in(admin_page, web_server.url, admin.email)
    admin_page.goto(f"{web_server.url}/admin/profiles/{profile.id}")
    facts = admin_page.locator(f"#facts-p{profile.id}")
    facts.locator("textarea").fill("Hugo, 30, a nurse in Paris; a cat called Miso.")
    facts.locator("button[type=submit]").click()
    expect(facts.locator(".desk-saved")).to_have_text("Saved.")
    expect(facts.locator(".desk-versions li")).to_have_count(1)
    shot(admin_page, "desk_fact_sheet_admin", full_page=True)
    assert browser_problems.unexpected() == []
