"""Searching messages in the browser, as a moderator does: typing a word in the workspace's box,
seeing the result with the word marked, clicking it and landing on that message in its
conversation, far up its history. On a desktop and on a 390 px phone."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import DESKTOP, LIVE, PHONE, log_in, require_chromium
from tests.support.search import conversation_with, moderator

require_chromium()


WHOLE_IN_PANE = """id => { const m = document.getElementById(id), p = m.closest("[data-messages]");
  const a = m.getBoundingClientRect(), b = p.getBoundingClientRect();
  return a.top >= b.top - 1 && a.bottom <= b.bottom + 1; }"""
TOP_IN_PANE = """id => { const m = document.getElementById(id), p = m.closest("[data-messages]");
  const a = m.getBoundingClientRect(), b = p.getBoundingClientRect();
  return a.top >= b.top - 1 && a.top + 20 <= b.bottom; }"""


@pytest.mark.parametrize("size_name", ["desktop", "phone"])
def test_a_moderator_finds_a_message_and_lands_on_it(new_context, browser_problems, shot, web_server, size_name):
    size = PHONE if size_name == "phone" else DESKTOP
    mod = moderator(locale="fr")
    bodies = [f"ligne {i}" for i in range(1, 121)]
    bodies[29] = "Tu as vu la girafe <b>du zoo</b> ce matin ?"
    c = conversation_with(mod, *bodies, client_name="Zoé", profile_name="Iris")
    conversation_with(mod, "rien à voir ici", client_name="Léa", profile_name="Nina")
    target = c.message_ids[29]

    context = new_context(**size)
    page = browser_problems.watch(context, "moderator")
    log_in(page, web_server.url, mod.email, touch=size is PHONE)
    expect(page.locator("body")).to_have_class(LIVE)

    box = page.get_by_role("searchbox", name="Rechercher dans les messages")
    box.tap() if size is PHONE else box.click()
    box.press_sequentially("gira", delay=60)          # as-you-type: no Enter
    hit = page.locator(f".search-hit[data-hit-message='{target}']")
    expect(hit).to_be_visible()
    expect(page.locator(".search-hit")).to_have_count(1)
    expect(hit.locator("mark")).to_have_text("girafe")
    expect(hit).to_contain_text("Zoé")
    expect(hit).to_contain_text("<b>du zoo</b>")      # shown as text, not as markup
    shot(page, f"search_results_{size_name}")

    link = hit.locator("a")
    link.tap() if size is PHONE else link.click()
    expect(page).to_have_url(f"{web_server.url}/moderateur/c/{c.conversation_id}?around={target}")
    pane = page.locator(f"#messages-c{c.conversation_id}")
    message = pane.locator(f"#msg-{target}")
    expect(message).to_have_class(re.compile(r"(^|\s)focused(\s|$)"))
    if size is PHONE:   # the workspace's phone layout leaves the pane short: the message starts in view
        page.wait_for_function(TOP_IN_PANE, arg=f"msg-{target}")
    else:
        page.wait_for_function(WHOLE_IN_PANE, arg=f"msg-{target}")
    assert pane.evaluate("p => p.scrollHeight - p.scrollTop - p.clientHeight") > 100, "not at the bottom"
    shot(page, f"search_landed_{size_name}")
    if size is PHONE:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"], "sideways scroll"
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))
