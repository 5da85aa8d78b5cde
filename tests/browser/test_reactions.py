"""Reactions, replies and the emoji picker in the browser, as people use them.

- A reaction given on one side shows on the other at once (pushed), pressed only where it was
  given, and is taken back by a second click: a client on a 390 px phone (French), a moderator on
  a desktop.
- The composer's emoji picker (the vendored data set, offline, under our CSP) inserts an emoji; its
  search finds one by name in the page's language; "more" under a message reacts with any emoji.
- A reply to an old message of a 250-message conversation shows its quote; after a reload the
  original is far above the loaded page: a click on the quote loads older pages until it is there,
  and highlights it.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.models import Role
from tests.support.browser import (DESKTOP, LIVE, PHONE, log_in, moderator_and_phone_client, require_chromium,
                                   type_and_send)
from tests.support.factories import make_profile, make_user
from tests.support.history import long_conversation

require_chromium()


def chip(page, message_id, emoji):
    return page.locator(f"#reactions-{message_id} [data-react='{emoji}']")


def test_a_reaction_toggles_live_on_both_sides(new_context, browser_problems, shot, web_server, second_web_server):
    moderator = make_user(Role.MODERATOR, display_name="Inès")
    client = make_user(display_name="Julien", locale="fr")
    hanna = make_profile("Hanna", 31)

    mod, cli = moderator_and_phone_client(new_context, browser_problems, moderator, client, hanna, web_server.url,
                                          second_web_server.url)
    type_and_send(cli, "Tu aimes la montagne ?", touch=True)
    mod.locator("#conversation-list li.conv").filter(has_text="Julien").locator("a").click()
    bubble = mod.locator(".msg.theirs").filter(has_text="Tu aimes la montagne ?")
    expect(bubble).to_be_visible()
    message_id = bubble.get_attribute("data-msg-id")

    # The moderator reacts (as Hanna) from the quick reactions: the client sees it at once.
    bubble.hover()
    bubble.locator("[data-react-open]").click()
    quick = mod.locator("[data-quick-reactions]")
    expect(quick).to_be_visible()
    shot(mod, "reactions_quick_desktop")
    quick.locator("[data-quick='👍']").click()
    expect(quick).to_be_hidden()
    expect(chip(mod, message_id, "👍️")).to_have_attribute("aria-pressed", "true")
    on_phone = chip(cli, message_id, "👍️")
    expect(on_phone).to_have_text("👍️1")
    expect(on_phone).to_have_attribute("aria-pressed", "false")

    # The client adds theirs by tapping the chip: 2 on both sides, pressed on each.
    on_phone.tap()
    expect(on_phone).to_have_text("👍️2")
    expect(on_phone).to_have_attribute("aria-pressed", "true")
    expect(chip(mod, message_id, "👍️")).to_have_text("👍️2")
    shot(cli, "reactions_phone_both")
    shot(mod, "reactions_desktop_both")

    # ... and takes it back: 1 again everywhere, no longer pressed on the phone.
    on_phone.tap()
    expect(on_phone).to_have_text("👍️1")
    expect(on_phone).to_have_attribute("aria-pressed", "false")
    expect(chip(mod, message_id, "👍️")).to_have_text("👍️1")
    expect(chip(mod, message_id, "👍️")).to_have_attribute("aria-pressed", "true")

    # The moderator takes theirs back: the chip goes on both sides.
    chip(mod, message_id, "👍️").click()
    expect(chip(cli, message_id, "👍️")).to_have_count(0)
    expect(chip(mod, message_id, "👍️")).to_have_count(0)
    assert cli.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"], "sideways scroll"

    # A keyboard reaches a message's tools: the message takes the focus, its tools come and show.
    mod.locator("form[data-send-form] textarea").focus()
    mod.keyboard.press("Shift+Tab")
    for _ in range(60):
        if mod.evaluate("document.activeElement.matches('.msg[data-msg-id]')"):
            break
        mod.keyboard.press("Shift+Tab")
    focused = mod.locator(f"#msg-{mod.evaluate('document.activeElement.dataset.msgId')}")
    expect(focused.locator("[data-reply-to]")).to_be_visible()
    mod.keyboard.press("Tab")
    expect(focused.locator("[data-react-open]")).to_be_focused()
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))


def test_the_emoji_picker_inserts_into_the_composer_and_reacts_with_any_emoji(
        new_context, browser_problems, shot, web_server):
    make_user(Role.MODERATOR, online=True)
    client = make_user(locale="fr")
    hanna = make_profile("Hanna", 31)
    page = browser_problems.watch(new_context(**PHONE), "client")
    log_in(page, web_server.url, client.email, touch=True)
    page.goto(f"{web_server.url}/profiles/{hanna.id}")
    expect(page.locator("body")).to_have_class(LIVE)

    textarea = page.locator("form[data-send-form] textarea")
    textarea.tap()
    page.keyboard.type("On mange une ")
    page.locator("[data-emoji-open]").tap()
    panel = page.locator("[data-emoji-panel]")
    expect(panel).to_be_visible()
    expect(panel.locator("[data-emoji-grid] [data-emoji='😀']")).to_be_visible()  # smileys first
    shot(page, "emoji_picker_phone")
    panel.locator("[data-emoji-search]").fill("pizza")
    found = panel.locator("[data-emoji-grid] [data-emoji]")
    expect(found.first).to_have_attribute("data-emoji", "🍕")
    found.first.tap()
    expect(panel).to_be_hidden()
    expect(textarea).to_have_value("On mange une 🍕")
    page.keyboard.type(" ce soir ?")
    page.keyboard.press("Enter")
    sent = page.locator(".msg.mine .body").filter(has_text="On mange une 🍕 ce soir ?")
    expect(sent).to_be_visible()

    # Any emoji as a reaction: "more" opens the same picker, a group tab, a pick.
    message = page.locator(".msg.mine").filter(has_text="ce soir")
    message_id = message.get_attribute("data-msg-id")
    expect(message.locator("[data-react-open]")).to_be_hidden()        # on a phone, a tap shows the tools
    message.locator(".body").tap()
    message.locator("[data-react-open]").tap()
    page.locator("[data-quick-more]").tap()
    expect(panel).to_be_visible()
    panel.locator("[data-emoji-group='3']").tap()                    # animals and nature
    expect(panel.locator("[data-emoji-group='3']")).to_have_attribute("aria-selected", "true")
    panel.locator("[data-emoji-grid] [data-emoji='🐻']").tap()
    expect(chip(page, message_id, "🐻")).to_have_text("🐻1")
    expect(textarea).to_have_value("")                                # reacting typed nothing
    shot(page, "emoji_reaction_phone")
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))


def scroll_up_until(page, pane, target, limit=60):
    """Scroll the pane to its top, again and again, until ``target`` is in the page."""
    for _ in range(limit):
        if target.count():
            return
        pane.evaluate("p => { p.scrollTop = 0; }")
        page.wait_for_timeout(300)
    raise AssertionError("the old message never loaded")


@pytest.mark.parametrize("size_name", ["phone", "desktop"])
def test_a_quote_jumps_to_an_original_older_than_the_loaded_page(new_context, browser_problems, shot, web_server,
                                                                  size_name):
    size, touch = (PHONE, True) if size_name == "phone" else (DESKTOP, False)
    conversation = long_conversation(250)
    page = browser_problems.watch(new_context(**size), "client")
    log_in(page, web_server.url, conversation.client.email, touch=touch)
    page.goto(f"{web_server.url}/profiles/{conversation.profile.id}")
    expect(page.locator("body")).to_have_class(LIVE)
    pane = page.locator(f"#messages-p{conversation.profile.id}")
    old = pane.locator(".msg").filter(has=page.locator(".body", has_text=re.compile(r"^message 010$")))
    scroll_up_until(page, pane, old)
    old.scroll_into_view_if_needed()

    def press(locator, message=None):
        """A person's press; a message's tool shows once the message is pointed at, or tapped."""
        if message is not None:
            if not touch:
                message.hover()
            elif not (locator.count() and locator.is_visible()):
                message.locator(".body").tap()
        if touch:
            locator.tap()
        else:
            locator.hover()
            locator.click()

    # Reply: the composer quotes it, ✕ cancels, a second try sends it.
    press(old.locator("[data-reply-to]"), old)
    preview = page.locator("[data-reply-preview]")
    expect(preview).to_be_visible()
    expect(preview.locator("[data-reply-snippet]")).to_have_text("message 010")
    press(preview.locator("[data-reply-cancel]"))
    expect(preview).to_be_hidden()
    press(old.locator("[data-reply-to]"), old)
    shot(page, f"reply_composer_{size_name}")
    type_and_send(page, "Je reviens sur ça", touch=touch)
    sent = pane.locator(".msg.mine").filter(has_text="Je reviens sur ça")
    expect(sent.locator(".quote")).to_have_text(re.compile(r"message 010"))
    expect(preview).to_be_hidden()

    # After a reload only the latest page is there; the quote brings the original back.
    page.reload()
    expect(page.locator("body")).to_have_class(LIVE)
    expect(pane.locator("[data-msg-id]")).to_have_count(50)
    expect(old).to_have_count(0)
    quote = pane.locator(".msg.mine").filter(has_text="Je reviens sur ça").locator(".quote")
    shot(page, f"reply_quote_sent_{size_name}")
    press(quote)
    expect(old).to_have_class(re.compile(r"quoted-target"))
    box, shown = pane.bounding_box(), old.bounding_box()
    assert box["y"] <= shown["y"] and shown["y"] + shown["height"] <= box["y"] + box["height"], "not scrolled to"
    shot(page, f"reply_quote_jumped_{size_name}")
    assert pane.locator("[data-msg-id]").count() >= 241   # pages loaded down to message 010
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))
