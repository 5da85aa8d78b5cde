"""Pages longer than the window, on a phone: the layout grows with the content.

The chat and the workspace fill the window and scroll inside their panes; every other page
scrolls as a whole, its footer after the content (never pinned over it at the window's height).
"""
from __future__ import annotations

from playwright.sync_api import expect

from tests.support.browser import LIVE, PHONE, log_in, require_chromium
from tests.support.factories import make_profile, make_user

require_chromium()


def test_a_phone_shows_profiles_two_abreast_and_the_footer_after_them(new_context, browser_problems, shot,
                                                                       web_server):
    client = make_user(locale="fr")
    for n in range(10):  # five rows: taller than the window
        make_profile(f"Profil {n}", 20 + n)
    page = browser_problems.watch(new_context(**PHONE), "client")
    log_in(page, web_server.url, client.email, touch=True)
    expect(page).to_have_url(f"{web_server.url}/profiles")

    cards = page.locator(".profile-card")
    expect(cards).to_have_count(10)
    expect(page.locator("body")).to_have_class(LIVE)  # what the socket's opening changes is done
    # every card measured in one go (one box at a time, the page could move between two of them)
    boxes = page.eval_on_selector_all(".profile-card", """cards => cards.map(card => {
        const r = card.getBoundingClientRect();
        return {x: r.x, y: r.y, width: r.width, height: r.height};  // as bounding_box() gives them
    })""")
    assert boxes[0]["y"] == boxes[1]["y"] and boxes[1]["x"] > boxes[0]["x"] + boxes[0]["width"], boxes[:2]
    content_bottom = max(box["y"] + box["height"] for box in boxes)
    assert content_bottom > PHONE["viewport"]["height"], "the page should be taller than the window"
    footer = page.locator("footer.footer").bounding_box()
    assert footer["y"] >= content_bottom, (footer, content_bottom)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"], "sideways scroll"
    shot(page, "client_profiles_grid_phone", full_page=True)
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))
