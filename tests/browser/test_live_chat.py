"""The live chat as people use it: a client on a phone, a moderator on a desktop, two real
gunicorn processes sharing Redis and the database, and one of them dying mid-conversation.

The moderator's page is served by ``web_server`` and the client's by ``second_web_server``, so
every message also crosses processes. Killing the moderator's server drops their socket without
a close frame; the page must reconnect by itself and catch up on what was sent meanwhile,
showing it exactly once.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

from app.models import Role
from tests.support.browser import DESKTOP, LIVE, PHONE, is_online, log_in, require_chromium, type_and_send
from tests.support.factories import make_profile, make_user
from tests.support.waiting import wait_until

require_chromium()

DOWN = re.compile(r"(^|\s)is-down(\s|$)")
RECONNECT_TIMEOUT = 20_000      # the page retries at most every 10 s
# Counts the page's socket closes (htmx ws extension events); a failed reconnection attempt is one more.
COUNT_SOCKET_CLOSES = """
window.__socketCloses = 0;
document.addEventListener("htmx:wsClose", function () { window.__socketCloses += 1; });
"""


def bubbles(page, text: str):
    """Message bubbles whose body is exactly ``text``."""
    return page.locator(".msg .body").filter(has_text=re.compile(rf"^\s*{re.escape(text)}\s*$"))


def mark_page(page) -> None:
    """A flag that only survives as long as the document does: its absence means a reload."""
    page.evaluate("window.__sameDocument = true")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"


def message_ids(page) -> list[str]:
    return page.evaluate("Array.from(document.querySelectorAll('[data-msg-id]'), el => el.dataset.msgId)")


def test_live_chat_survives_a_server_dying(new_context, browser_problems, shot, web_server, second_web_server):
    moderator = make_user(Role.MODERATOR, display_name="Modératrice Inès")
    client = make_user(display_name="Julien", locale="fr")     # a French client, an English-speaking moderator
    profile = make_profile("Léa", 27)

    # 1. The moderator opens the workspace; the socket opens and marks them online.
    mod_context = new_context(**DESKTOP)
    mod_context.add_init_script(script=COUNT_SOCKET_CLOSES)
    mod = browser_problems.watch(mod_context, "moderator")
    log_in(mod, web_server.url, moderator.email)
    expect(mod).to_have_url(f"{web_server.url}/moderateur/")
    expect(mod.locator("body")).to_have_class(LIVE)
    # The page says "live" as soon as the handshake is done; presence is written just after.
    wait_until(lambda: is_online(moderator.id))
    mark_page(mod)

    # 2. The client, on a phone, picks the profile and says hello.
    cli = browser_problems.watch(new_context(**PHONE), "client")
    log_in(cli, second_web_server.url, client.email, touch=True,
           before_submit=lambda: shot(cli, "client_login_phone"))
    expect(cli).to_have_url(f"{second_web_server.url}/profiles")
    shot(cli, "client_profiles_phone", full_page=True)
    cli.get_by_role("link", name=re.compile("Léa")).first.tap()
    expect(cli).to_have_url(f"{second_web_server.url}/profiles/{profile.id}")
    expect(cli.locator("body")).to_have_class(LIVE)
    mark_page(cli)
    shot(cli, "client_empty_phone")

    opens = cli.locator("[data-send-form] input[name=opens]")  # says the message opens the conversation
    expect(opens).to_have_count(1)
    textarea = type_and_send(cli, "bonjour", touch=True)
    expect(textarea).to_have_value("")
    client_messages = cli.locator(f"#messages-p{profile.id}")
    expect(bubbles(client_messages, "bonjour")).to_have_count(1)
    expect(client_messages.locator(".msg.mine")).to_have_count(1)
    expect(opens).to_have_count(0)  # it does not any more
    shot(cli, "client_sent")

    # ... and the moderator's list shows the conversation, waiting, without a reload.
    entry = mod.locator("#conversation-list li.conv")
    expect(entry).to_have_count(1)
    expect(entry).to_have_class(re.compile(r"\bwaiting\b"))
    expect(entry.locator(".badge")).to_have_text("1")
    expect(entry).to_contain_text("Julien")
    expect(entry).to_contain_text("Léa")
    assert_not_reloaded(mod)
    shot(mod, "moderator_list_pending")

    entry.locator("a").click()
    conversation_id = int(entry.get_attribute("data-conversation-id"))
    expect(mod).to_have_url(f"{web_server.url}/moderateur/c/{conversation_id}")
    mod_messages = mod.locator(f"#messages-c{conversation_id}")
    expect(bubbles(mod_messages, "bonjour")).to_have_count(1)
    expect(mod_messages.locator(".msg.theirs")).to_have_count(1)
    expect(entry).to_have_attribute("aria-current", "true")
    assert_not_reloaded(mod)
    shot(mod, "moderator_received")

    # 3. The moderator answers; the client sees it live.
    reply = "Coucou Julien ! Tu vas bien ?"
    mod_textarea = type_and_send(mod, reply)
    expect(mod_textarea).to_have_value("")
    expect(bubbles(mod_messages, reply)).to_have_count(1)
    expect(entry).not_to_have_class(re.compile(r"\bwaiting\b"))
    expect(bubbles(client_messages, reply)).to_have_count(1)
    expect(client_messages.locator(".msg.theirs")).to_have_count(1)
    assert_not_reloaded(cli)
    shot(cli, "client_got_reply")

    # 4. The moderator's server dies; the client writes meanwhile through its own server.
    port = web_server.port
    browser_problems.phase = "kill-window"
    closes = mod.evaluate("window.__socketCloses")
    web_server.kill()
    expect(mod.locator("body")).to_have_class(DOWN)
    shot(mod, "moderator_down")

    cli_textarea = type_and_send(cli, "tu es là ?", touch=True)
    expect(cli_textarea).to_have_value("")
    expect(bubbles(client_messages, "tu es là ?")).to_have_count(1)

    # Stay down until the page has failed to reconnect twice, so it really has to retry.
    mod.wait_for_function("n => window.__socketCloses >= n", arg=closes + 3, timeout=RECONNECT_TIMEOUT)
    expect(mod.locator("body")).to_have_class(DOWN)
    web_server.port = port
    web_server.start()
    expect(mod.locator("body")).to_have_class(LIVE, timeout=RECONNECT_TIMEOUT)
    expect(bubbles(mod_messages, "tu es là ?")).to_have_count(1)
    expect(entry.locator(".badge")).to_have_text("1")          # the list caught up too
    mod.evaluate("() => new Promise(r => setTimeout(r, 500))")  # let any late duplicate land
    browser_problems.phase = "normal"
    assert_not_reloaded(mod)
    assert mod_messages.get_by_text("tu es là ?", exact=True).count() == 1   # (the list's preview shows it too)
    ids = message_ids(mod)
    assert len(ids) == len(set(ids)) == 3, ids
    assert ids == sorted(ids, key=int), ids
    assert [t.strip() for t in mod_messages.locator(".msg .body").all_inner_texts()] == ["bonjour", reply, "tu es là ?"]
    shot(mod, "moderator_after_reconnect")

    # The client's side is untouched: three bubbles, no duplicates, no reload.
    client_ids = message_ids(cli)
    assert len(client_ids) == len(set(client_ids)) == 3, client_ids
    assert_not_reloaded(cli)
    shot(cli, "client_phone", full_page=True)
    assert cli.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"], "sideways scroll on a phone"

    # Nothing in either console but the moderator's page failing to reach its server while it
    # was down: socket retries, and the offline poll if its turn came within the window.
    dead = rf"127\.0\.0\.1:{port}/"
    allowed = {("moderator", "kill-window"): [
        re.compile(rf"WebSocket connection to 'ws://{dead}ws' failed"),
        # htmx logs the failed socket's "error" event object itself (htmx:wsError).
        re.compile(rf"^(htmx:wsError|Event) \(http://{dead}static/vendor/htmx-"),
        # (reset: a request of the page's, such as marking what it shows as read, in flight when
        # the server was killed; refused: one sent while it was down)
        re.compile(rf"^Failed to load resource: net::ERR_CONNECTION_(REFUSED|RESET) \(http://{dead}"),
        re.compile(rf"^htmx:sendError \(http://{dead}static/vendor/htmx-"),
    ]}
    unexpected = browser_problems.unexpected(allowed)
    assert not unexpected, ("browser errors:\n" + "\n".join(map(str, unexpected))
                            + "\n(everything seen:\n" + "\n".join(map(str, browser_problems.problems)) + ")")
