"""The moderator's workspace on a 390 px phone: the open conversation is the screen (the list one tap
away, and back); on a desktop the list and the conversation stay side by side."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from app.clock import utcnow
from app.database import write_transaction
from app.services import sending
from tests.support.browser import DESKTOP, LIVE, PHONE, log_in, require_chromium
from tests.support.context import app_context
from tests.support.factories import make_user, token
from tests.support.history import long_conversation
from tests.support.waiting import wait_until

require_chromium()

FULLY_SHOWN = """pane => {
  const box = pane.getBoundingClientRect();
  return Array.prototype.filter.call(pane.querySelectorAll("[data-msg-id]"), el => {
    const r = el.getBoundingClientRect();
    return r.height > 0 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
  }).length;
}"""


def two_conversations():
    """A long conversation (Julien, 40 messages) and a short waiting one (Zoé), both the moderator's."""
    story = long_conversation(40, profile_name="Camille")
    newcomer = make_user(display_name="Zoé", locale="en")
    with app_context():
        with write_transaction():
            posted = sending.post_client_message(newcomer, story.profile.id, "Salut Camille !", token(), utcnow())
        other_id = posted.message.conversation_id
    return story, other_id


def entry(page, name: str):
    return page.locator("#conversation-list li.conv").filter(has_text=name).locator("a")


def test_a_phone_shows_the_conversation_as_the_screen_and_the_list_one_tap_away(new_context, browser_problems,
                                                                                 shot, web_server):
    story, other_id = two_conversations()
    page = browser_problems.watch(new_context(**PHONE), "moderator")
    log_in(page, web_server.url, story.moderator.email, touch=True)
    expect(page.locator("body")).to_have_class(LIVE)

    sidebar, panel = page.locator("aside.sidebar"), page.locator("#conversation-panel")
    expect(sidebar).to_be_visible()
    expect(panel).to_be_hidden()
    expect(page.locator("#conversation-list li.conv")).to_have_count(2)
    shot(page, "moderator_phone_list")

    entry(page, "Julien").tap()
    expect(page).to_have_url(re.compile(rf"/c/{story.conversation_id}$"))
    pane = page.locator(f"#messages-c{story.conversation_id}")
    expect(pane).to_be_visible()
    expect(sidebar).to_be_hidden()
    expect(page.locator("#msg-%d" % story.message_ids[-1])).to_be_in_viewport()
    shown = pane.evaluate(FULLY_SHOWN)
    assert shown >= 6, f"only {shown} messages on the screen"
    back = page.locator("[data-show-list]")
    expect(back.locator("[data-waiting-elsewhere]")).to_have_text("1")   # Zoé waits
    shot(page, "moderator_phone_conversation")

    details = page.locator("[data-toggle-people]")
    details.tap()
    expect(page.locator(f"#people-c{story.conversation_id}")).to_be_visible()
    shot(page, "moderator_phone_details")
    details.tap()
    expect(page.locator(f"#people-c{story.conversation_id}")).to_be_hidden()

    back.tap()
    expect(sidebar).to_be_visible()
    expect(panel).to_be_hidden()
    entry(page, "Zoé").tap()
    expect(page).to_have_url(re.compile(rf"/c/{other_id}$"))
    expect(page.locator(f"#messages-c{other_id}")).to_contain_text("Salut Camille !")
    expect(page.locator(f"#messages-c{other_id}")).to_be_visible()
    expect(sidebar).to_be_hidden()
    expect(page.locator("[data-waiting-elsewhere]")).to_have_text("1")   # Julien's waits, Zoé's is open
    shot(page, "moderator_phone_second_conversation")

    page.reload()   # the conversation's address opens on the conversation
    expect(page.locator(f"#messages-c{other_id}")).to_be_visible()
    expect(sidebar).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"], "sideways scroll"
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))


def test_a_desktop_shows_the_list_and_the_conversation_side_by_side(new_context, browser_problems, shot, web_server):
    story, _ = two_conversations()
    page = browser_problems.watch(new_context(**DESKTOP), "moderator")
    log_in(page, web_server.url, story.moderator.email)
    expect(page.locator("body")).to_have_class(LIVE)
    entry(page, "Julien").click()
    expect(page).to_have_url(re.compile(rf"/c/{story.conversation_id}$"))
    pane = page.locator(f"#messages-c{story.conversation_id}")
    expect(pane).to_be_visible()
    sidebar = page.locator("aside.sidebar")
    expect(sidebar).to_be_visible()
    expect(page.locator("[data-show-list]")).to_be_hidden()
    expect(page.locator(f"#people-c{story.conversation_id}")).to_be_visible()
    side, conversation = sidebar.bounding_box(), page.locator("#conversation-panel").bounding_box()
    assert conversation["x"] >= side["x"] + side["width"], (side, conversation)
    assert abs(conversation["y"] - side["y"]) < 2, (side, conversation)
    shot(page, "moderator_desktop_first")
    wait_until(lambda: pane.evaluate(FULLY_SHOWN) >= 6)
    entry(page, "Zoé").click()
    expect(page).to_have_url(re.compile(r"/c/\d+$"))
    expect(page.locator("#conversation-panel")).to_contain_text("Salut Camille !")
    expect(sidebar).to_be_visible()
    shot(page, "moderator_desktop_conversation")
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))
