"""Reading a long conversation in the browser, as people do: scrolling up with the wheel loads page
after page down to the very first message, and each page lands above without moving what the
reader was looking at; a conversation opens on the "new messages" divider; "jump to latest"
appears when the reader is a screen up, counts what arrives meanwhile, and takes them back down.

The client's chat and the moderator's panel, on a 390 px phone and on a desktop.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.database import write_transaction
from app.extensions import db
from app.models import Conversation
from tests.support.browser import DESKTOP, LIVE, PHONE, log_in, require_chromium
from tests.support.context import app_context
from tests.support.factories import token
from tests.support.history import long_conversation
from tests.support.http import LiveSession, login
from tests.support.waiting import wait_until

require_chromium()

# Records, for each older page swapped in, where the message at the top of the pane was on screen
# just before and once the page is in (after htmx settled and the browser drew a frame).
WATCH_ANCHORS = """
window.__anchors = [];
document.addEventListener("htmx:beforeSwap", function (evt) {
  var marker = evt.detail.target;
  if (!marker || !marker.hasAttribute("data-older")) { return; }
  var pane = marker.closest("[data-messages]"), top = pane.getBoundingClientRect().top;
  var shown = Array.prototype.find.call(pane.querySelectorAll("[data-msg-id]"),
                                        function (el) { return el.getBoundingClientRect().bottom > top; });
  window.__anchors.push({ id: shown.dataset.msgId, before: shown.getBoundingClientRect().top, after: null });
});
document.addEventListener("htmx:afterSettle", function () {
  requestAnimationFrame(function () {
    window.__anchors.forEach(function (a) {
      if (a.after === null) { a.after = document.getElementById("msg-" + a.id).getBoundingClientRect().top; }
    });
  });
});
"""

SCROLL_SETTLED = """pane => new Promise(resolve => {
  let last = -1, still = 0;
  const check = () => {
    if (pane.scrollTop === last && !document.querySelector(".htmx-request")) { still += 1; } else { still = 0; }
    last = pane.scrollTop;
    if (still >= 4) { resolve(pane.scrollTop); } else { requestAnimationFrame(check); }
  };
  requestAnimationFrame(check);
})"""


def in_view(pane, element) -> bool:
    """Whether ``element`` is fully inside the pane's visible box."""
    p, e = pane.bounding_box(), element.bounding_box()
    return e is not None and e["y"] >= p["y"] - 1 and e["y"] + e["height"] <= p["y"] + p["height"] + 1


def wheel_up_to_the_first_message(page, pane, limit=80):
    """Wheel up over the pane like a person, a notch at a time, letting each scroll end."""
    box = pane.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    first = pane.locator(".msg .body", has_text=re.compile(r"^message 001$"))
    for _ in range(limit):
        if first.count() and in_view(pane, first) and not pane.locator("[data-older]").count():
            return
        page.mouse.wheel(0, -500)
        pane.evaluate(SCROLL_SETTLED)
    pytest.fail("the first message never came into view")


def assert_whole_history_in_order(page, pane, conversation):
    ids = [int(i) for i in pane.evaluate("p => Array.from(p.querySelectorAll('[data-msg-id]'), e => e.dataset.msgId)")]
    assert ids == conversation.message_ids, (len(ids), len(set(ids)), ids[:5])   # all, once, in order
    bodies = pane.locator(".msg .body").all_inner_texts()
    assert bodies[0] == "message 001" and bodies[-1] == f"message {len(conversation.message_ids):03d}"
    expect(pane.locator("[data-older]")).to_have_count(0)


def assert_anchored(page, pages_inserted):
    anchors = page.evaluate("window.__anchors")
    assert len(anchors) == pages_inserted, anchors
    jumps = [abs(a["after"] - a["before"]) for a in anchors]
    assert all(jump <= 3 for jump in jumps), anchors           # what the reader looked at stayed put


def open_client_chat(new_context, browser_problems, web_server, conversation, size, name):
    context = new_context(**size)
    context.add_init_script(script=WATCH_ANCHORS)
    page = browser_problems.watch(context, name)
    log_in(page, web_server.url, conversation.client.email, touch=size is PHONE)
    page.goto(f"{web_server.url}/profiles/{conversation.profile.id}")
    expect(page.locator("body")).to_have_class(LIVE)
    return page, page.locator(f"#messages-p{conversation.profile.id}")


def open_moderator_panel(new_context, browser_problems, web_server, conversation, size, name):
    """The moderator's workspace, then a click on the conversation: the panel comes by htmx."""
    context = new_context(**size)
    context.add_init_script(script=WATCH_ANCHORS)
    page = browser_problems.watch(context, name)
    log_in(page, web_server.url, conversation.moderator.email, touch=size is PHONE)
    expect(page.locator("body")).to_have_class(LIVE)
    entry = page.locator(f"#conv-{conversation.conversation_id} a")
    entry.tap() if size is PHONE else entry.click()
    expect(page).to_have_url(f"{web_server.url}/moderateur/c/{conversation.conversation_id}")
    return page, page.locator(f"#messages-c{conversation.conversation_id}")


SIDES = {"client": open_client_chat, "moderator": open_moderator_panel}


@pytest.mark.parametrize("size_name", ["phone", "desktop"])
@pytest.mark.parametrize("side", ["client", "moderator"])
def test_scrolling_up_reaches_the_first_of_250_messages_without_losing_the_place(
        new_context, browser_problems, shot, web_server, side, size_name):
    size = PHONE if size_name == "phone" else DESKTOP
    conversation = long_conversation(250)
    page, pane = SIDES[side](new_context, browser_problems, web_server, conversation, size, side)
    last = pane.locator(".msg .body", has_text=re.compile(r"^message 250$"))
    expect(last).to_be_visible()
    assert in_view(pane, last), "the conversation should open on its newest message"
    expect(pane.locator("[data-msg-id]")).to_have_count(50)
    shot(page, f"history_{side}_{size_name}_opened")

    wheel_up_to_the_first_message(page, pane)
    shot(page, f"history_{side}_{size_name}_first_message")
    assert_whole_history_in_order(page, pane, conversation)
    assert_anchored(page, pages_inserted=4)
    if size is PHONE:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"], "sideways scroll"
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))


def unread_replies(conversation, *bodies):
    """Messages from the profile the client has not been shown (their read position stays)."""
    from app.models import Message
    from app.models.chat import Sender
    from app.clock import utcnow

    with app_context():
        with write_transaction():
            rows = [Message(conversation_id=conversation.conversation_id, sender=Sender.PROFILE, body=body,
                            author_id=conversation.moderator.id, client_token=token(), created_at=utcnow())
                    for body in bodies]
            db.session.add_all(rows)
        return [row.id for row in rows]


def read_positions(conversation_id):
    with app_context():
        row = db.session.get(Conversation, conversation_id)
        return row.client_last_read_id, row.profile_last_read_id


@pytest.mark.parametrize("size_name", ["phone", "desktop"])
def test_the_client_opens_on_the_new_messages_divider(new_context, browser_problems, shot, web_server, size_name):
    size = PHONE if size_name == "phone" else DESKTOP
    conversation = long_conversation(120, client_locale="fr")
    replies = unread_replies(conversation, *[f"réponse {n}" for n in range(1, 31)])
    page, pane = open_client_chat(new_context, browser_problems, web_server, conversation, size, "client")
    divider = pane.locator("[data-unread-divider]")
    expect(divider).to_have_count(1)
    expect(divider).to_have_text("Nouveaux messages")
    assert in_view(pane, divider), "the chat should open on the divider"
    first_new = pane.locator(f"#msg-{replies[0]}")
    assert in_view(pane, first_new)
    assert pane.evaluate("p => p.scrollHeight - p.scrollTop - p.clientHeight") > 100, "not at the bottom"
    following = pane.evaluate("p => p.querySelector('[data-unread-divider]').nextElementSibling.id")
    assert following == f"msg-{replies[0]}"
    shot(page, f"history_divider_client_{size_name}")
    pane.evaluate("p => { p.scrollTop = p.scrollHeight; }")   # the newest reply in view: seen, so read
    wait_until(lambda: read_positions(conversation.conversation_id)[0] == replies[-1])
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))


def test_the_moderator_panel_opens_on_the_divider(new_context, browser_problems, shot, web_server):
    conversation = long_conversation(120, moderator_locale="de")
    with app_context():
        from app.models import Message
        from app.models.chat import Sender
        from app.clock import utcnow

        with write_transaction():
            rows = [Message(conversation_id=conversation.conversation_id, sender=Sender.CLIENT, body=f"neu {n}",
                            author_id=conversation.client.id, client_token=token(), created_at=utcnow())
                    for n in range(1, 4)]
            db.session.add_all(rows)
        first_new = rows[0].id
    page, pane = open_moderator_panel(new_context, browser_problems, web_server, conversation, DESKTOP, "moderator")
    divider = pane.locator("[data-unread-divider]")
    expect(divider).to_have_text("Neue Nachrichten")
    assert in_view(pane, divider) and in_view(pane, pane.locator(f"#msg-{first_new}"))
    shot(page, "history_divider_moderator_desktop")
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))


def reply_as_moderator(session, csrf, conversation, body):
    response = session.post(f"/moderateur/c/{conversation.conversation_id}/messages",
                            data={"body": body, "client_token": token()},
                            headers={"X-CSRFToken": csrf, "HX-Request": "true"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("size_name", ["phone", "desktop"])
def test_jump_to_latest_counts_what_arrives_while_scrolled_up(new_context, browser_problems, shot, web_server,
                                                              size_name):
    size = PHONE if size_name == "phone" else DESKTOP
    conversation = long_conversation(120, client_locale="fr")
    page, pane = open_client_chat(new_context, browser_problems, web_server, conversation, size, "client")
    button = page.locator("[data-jump-latest]")
    expect(pane.locator(".msg .body", has_text=re.compile(r"^message 120$"))).to_be_visible()
    expect(button).to_be_hidden()

    # Up a little: still close to the newest message, no button.
    box = pane.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -100)
    pane.evaluate(SCROLL_SETTLED)
    expect(button).to_be_hidden()
    # More than a screen up: the button offers the way back.
    for _ in range(4):
        page.mouse.wheel(0, -400)
        pane.evaluate(SCROLL_SETTLED)
    expect(button).to_be_visible()
    expect(button).to_have_accessible_name(re.compile("Aller aux derniers messages"))
    shot(page, f"history_jump_{size_name}_scrolled_up")

    moderator = LiveSession(web_server.url)
    csrf = login(moderator, conversation.moderator.email)
    at = pane.evaluate("p => p.scrollTop")
    reply_as_moderator(moderator, csrf, conversation, "tu es toujours là ?")
    expect(button).to_contain_text("1 nouveau message")
    reply_as_moderator(moderator, csrf, conversation, "coucou")
    expect(button).to_contain_text("2 nouveaux messages")
    assert abs(pane.evaluate("p => p.scrollTop") - at) <= 2, "a new message pulled the reader down"
    shot(page, f"history_jump_{size_name}_new_messages")

    button.tap() if size is PHONE else button.click()
    newest = pane.locator(".msg .body", has_text="coucou")
    expect(button).to_be_hidden()
    page.wait_for_function("p => p.scrollHeight - p.scrollTop - p.clientHeight < 2", arg=pane.element_handle())
    assert in_view(pane, newest)
    shot(page, f"history_jump_{size_name}_back_down")
    newest_id = int(pane.locator("[data-msg-id]").last.get_attribute("data-msg-id"))
    wait_until(lambda: read_positions(conversation.conversation_id)[0] == newest_id)    # the page said so
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))
