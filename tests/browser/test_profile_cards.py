"""The client's profile list with the demo data (`flask seed-demo`, what `make run` shows): each
profile shows its own portrait, and no card's button wraps, on a 390 px phone or a desktop."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.services import demo
from tests.support.browser import DESKTOP, PHONE, log_in, require_chromium

require_chromium()

# For each card: its button's text split into line boxes, and its portrait as loaded.
CARDS = """() => Array.from(document.querySelectorAll(".profile-card")).map(card => {
  const button = card.querySelector(".button"), img = card.querySelector("img.avatar");
  const range = document.createRange();
  range.selectNodeContents(button);
  const lines = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
  const b = button.getBoundingClientRect(), c = card.getBoundingClientRect();
  return {name: card.querySelector("h3").textContent, lines: lines.size, overflow: button.scrollWidth > button.clientWidth, sw: button.scrollWidth, cw: button.clientWidth,
          inside: b.left >= c.left && b.right <= c.right, src: img.getAttribute("src"),
          loaded: img.complete && img.naturalWidth > 0, natural: img.naturalWidth};
})"""


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_demo_profiles_have_their_own_portraits_and_buttons_on_one_line(size, app, new_context, browser_problems,
                                                                        shot, web_server):
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    options = PHONE if size == "phone" else DESKTOP
    page = browser_problems.watch(new_context(**options), "client")
    log_in(page, web_server.url, "client4@switchboard.local", touch=size == "phone", password=demo.DEMO_PASSWORD)
    expect(page.locator(".profile-card")).to_have_count(len(demo.PROFILES))
    page.wait_for_function("Array.from(document.querySelectorAll('.profile-card img')).every(i => i.complete)")

    cards = page.evaluate(CARDS)
    wrapped = [c for c in cards if c["lines"] != 1 or c["overflow"] or not c["inside"]]
    assert not wrapped, wrapped
    sources = [c["src"] for c in cards]
    assert all("/avatars/" in src and "avatar.svg" not in src for src in sources), sources
    assert len(set(sources)) == len(cards), "each profile has a portrait of its own"
    assert all(c["loaded"] for c in cards), [c for c in cards if not c["loaded"]]
    assert page.evaluate("document.documentElement.scrollWidth") <= options["viewport"]["width"], "sideways scroll"
    shot(page, f"client_demo_profiles_{size}", full_page=True)
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))
