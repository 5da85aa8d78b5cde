"""A canned reply inserted with the keyboard, as a moderator does: "/" in the empty composer opens
the picker, typing filters it, ArrowDown and Enter put the reply (the client's first name filled)
into the composer without sending; the moderator edits it, sends it, and the client sees it."""
from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import expect

from app.database import write_transaction
from app.models import Role
from app.services import canned_replies
from tests.support.browser import DESKTOP, LIVE, log_in, require_chromium
from tests.support.context import app_context
from tests.support.factories import make_user
from tests.support.search import conversation_with, moderator

require_chromium()

LIMITS = canned_replies.Limits(title_max=80, body_max=2000, per_owner_max=100)


def saved(actor, title, body, profile_id=None):
    with app_context():
        with write_transaction():
            canned_replies.create(actor, title=title, body=body, limits=LIMITS, now=datetime.utcnow(),
                                  profile_id=profile_id)


@pytest.mark.slow
def test_a_moderator_inserts_a_canned_reply_with_the_keyboard_and_the_client_sees_it(
        new_context, browser_problems, shot, web_server):
    admin, mod = make_user(Role.ADMIN), moderator(locale="fr")
    c = conversation_with(mod, "Salut, tu es là ?", client_name="Julien Martin", profile_name="Iris")
    saved(admin, "Bienvenue", "Bonjour {client_first_name}, ravie de te lire !")
    saved(admin, "Au revoir", "À bientôt {client_first_name}, bisous de {profile_name}")
    saved(mod, "Piège <b>", "<b>pas du gras</b> {client_first_name}")

    moderator_page = browser_problems.watch(new_context(**DESKTOP), "moderator")
    log_in(moderator_page, web_server.url, mod.email)
    moderator_page.goto(f"{web_server.url}/moderateur/c/{c.conversation_id}")
    expect(moderator_page.locator("body")).to_have_class(LIVE)

    composer = moderator_page.locator("form[data-send-form] textarea")
    composer.click()
    moderator_page.keyboard.type("/")
    panel = moderator_page.locator("[data-canned-panel]")
    expect(panel).to_be_visible()
    expect(panel.locator("[data-canned-item]")).to_have_count(3)
    expect(panel.locator("[data-canned-filter]")).to_be_focused()
    expect(composer).to_have_value("")                  # the "/" opened the picker, it was not typed
    expect(panel.locator("[data-canned-item]", has_text="Piège <b>")).to_contain_text("<b>pas du gras</b> Julien")

    moderator_page.keyboard.type("b")                  # "Bienvenue", "Au revoir" (bisous) and "Piège <b>"
    moderator_page.keyboard.type("i")                  # "Bienvenue", "Au revoir" ("bisous")
    items = panel.locator("[data-canned-item]")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("Au revoir")
    expect(items.nth(0)).to_have_attribute("aria-selected", "true")
    moderator_page.keyboard.press("ArrowDown")
    expect(items.nth(1)).to_have_attribute("aria-selected", "true")
    shot(moderator_page, "canned_picker")
    moderator_page.keyboard.press("Enter")

    expect(panel).to_be_hidden()
    expect(composer).to_be_focused()
    expect(composer).to_have_value("Bonjour Julien, ravie de te lire !")
    assert moderator_page.locator(f"#messages-c{c.conversation_id} .msg", has_text="ravie de te lire").count() == 0
    moderator_page.keyboard.type(" 😊")                # the moderator edits before sending
    shot(moderator_page, "canned_inserted")
    moderator_page.keyboard.press("Enter")
    sent = moderator_page.locator(f"#messages-c{c.conversation_id} .msg", has_text="Bonjour Julien, ravie de te lire ! 😊")
    expect(sent).to_be_visible()

    # Escape closes the picker and gives the composer back, with nothing inserted
    composer.click()
    moderator_page.keyboard.type("/")
    expect(panel).to_be_visible()
    moderator_page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(composer).to_be_focused()
    expect(composer).to_have_value("")

    client_page = browser_problems.watch(new_context(**DESKTOP), "client")
    log_in(client_page, web_server.url, c.client.email)
    client_page.goto(f"{web_server.url}/profiles/{c.profile.id}")
    expect(client_page.locator(".msg", has_text="Bonjour Julien, ravie de te lire ! 😊")).to_be_visible()
    shot(client_page, "canned_client_sees")

    moderator_page.get_by_role("link", name="Réponses types").click()  # the moderator's own, from the top bar
    own = moderator_page.locator("[data-canned-reply] textarea")
    expect(own).to_have_count(1)
    expect(own).to_have_value("<b>pas du gras</b> {client_first_name}")
    shot(moderator_page, "canned_own_page", full_page=True)
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))
