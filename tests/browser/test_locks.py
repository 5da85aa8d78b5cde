"""Lock indicators, live: a moderator who starts typing an answer locks the profile for
themselves (balancing will not move it from under the reply); the flag appears on the
conversation and in the locks panel without reload, and goes when the answer is sent."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from app.models import ProfileLock, Role
from tests.support.browser import DESKTOP, LIVE, PHONE, is_online, log_in, require_chromium, type_and_send
from tests.support.context import app_context
from tests.support.factories import count, make_profile, make_user
from tests.support.waiting import wait_until

require_chromium()


def test_typing_an_answer_shows_the_profile_lock_live(new_context, browser_problems, shot, web_server):
    moderator = make_user(Role.MODERATOR, display_name="Mona")
    client = make_user(display_name="Chloé", locale="fr")
    profile = make_profile("Hugo", 30)

    moderator_page = browser_problems.watch(new_context(**DESKTOP), "moderator")
    log_in(moderator_page, web_server.url, moderator.email)
    expect(moderator_page.locator("body")).to_have_class(LIVE)
    wait_until(lambda: is_online(moderator.id))
    client_page = browser_problems.watch(new_context(**PHONE), "client")
    log_in(client_page, web_server.url, client.email, touch=True)
    client_page.goto(f"{web_server.url}/profiles/{profile.id}")
    expect(client_page.locator("body")).to_have_class(LIVE)
    type_and_send(client_page, "tu réponds ?", touch=True)

    item = moderator_page.locator("#conversation-list li.conv").filter(has_text="Chloé")
    expect(item).to_be_visible()
    expect(item.locator(".lock-flag")).to_have_count(0)
    item.locator("a").click()
    textarea = moderator_page.locator("form[data-send-form] textarea")
    expect(textarea).to_be_visible()
    textarea.click()
    moderator_page.keyboard.type("Oui, je suis là")       # typing: the profile is locked for Mona

    expect(item.locator(".lock-flag")).to_have_text("answering")
    expect(moderator_page.locator("#locks-status")).to_contain_text(re.compile(r"Hugo.*Mona.*answering", re.S))
    with app_context():
        assert count(ProfileLock, profile_id=profile.id, moderator_id=moderator.id, lock_type="answering") == 1
    shot(moderator_page, "locks_answering")

    moderator_page.keyboard.press("Enter")                 # the answer goes: the lock with it
    expect(client_page.locator(".msg .body").filter(has_text="Oui, je suis là")).to_be_visible()
    expect(item.locator(".lock-flag")).to_have_count(0)
    expect(moderator_page.locator("#locks-status")).to_contain_text("No profile is locked.")
    with app_context():
        assert count(ProfileLock, profile_id=profile.id) == 0
    shot(moderator_page, "locks_released")

    # An entry pushed in place (a lock flag) that lost the race with a later message's push never
    # brings the older state back; one of the same state replaces it.
    cid, rev = item.get_attribute("data-conversation-id"), item.get_attribute("data-rev")
    older = str(int(rev) - 1)
    assert len(older) == len(rev)
    entry = '<li id="conv-{0}" class="conv" data-conversation-id="{0}" data-rev="{1}" hx-swap-oob="outerHTML">{2} Chloé</li>'
    push = "html => htmx.swap('#flash', html, {swapStyle: 'none'})"
    moderator_page.evaluate(push, entry.format(cid, rev, "same"))
    expect(item).to_have_text("same Chloé")
    moderator_page.evaluate(push, entry.format(cid, older, "stale"))
    expect(item).to_have_text("same Chloé")
    assert not browser_problems.unexpected()
