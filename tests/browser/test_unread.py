"""Unread counts and read receipts, live in two browsers: a client on the profile list learns of a
reply by its badge (strip, top bar, title), which clears once the conversation is seen; the client
sees "Seen" once the moderator opened their message; the moderator's list shows each
conversation's latest message and how long it has waited."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.models import Role
from tests.support.browser import (DESKTOP, LIVE, PHONE, is_online, log_in, moderator_and_phone_client, require_chromium,
                                   type_and_send, until_held)
from tests.support.factories import make_profile, make_user
from tests.support.waiting import wait_until

require_chromium()


@pytest.mark.parametrize("client_size", ["desktop", "phone"])
def test_a_reply_shows_as_unread_until_seen_and_seen_shows_on_the_other_side(new_context, browser_problems, shot,
                                                                             web_server, client_size):
    moderator = make_user(Role.MODERATOR, display_name="Inès")
    client = make_user(display_name="Julien", locale="fr")
    hanna = make_profile("Hanna", 31)
    phone = client_size == "phone"

    mod = browser_problems.watch(new_context(**DESKTOP), "moderator")
    log_in(mod, web_server.url, moderator.email)
    expect(mod.locator("body")).to_have_class(LIVE)
    wait_until(lambda: is_online(moderator.id))

    cli = browser_problems.watch(new_context(**(PHONE if phone else DESKTOP)), "client")
    log_in(cli, web_server.url, client.email, touch=phone)
    cli.goto(f"{web_server.url}/profiles/{hanna.id}")
    expect(cli.locator("body")).to_have_class(LIVE)
    type_and_send(cli, "Salut Hanna, tu es là ?", touch=phone)
    expect(cli.locator(f"#messages-p{hanna.id} .msg.mine")).to_have_count(1)

    # The moderator's list: the latest message and how long it has waited, ticking by itself.
    entry = mod.locator("#conversation-list li.conv").filter(has_text="Julien")
    expect(entry.locator(".glance .preview")).to_have_text("Salut Hanna, tu es là ?")
    expect(entry.locator(".glance .waited")).to_have_text(re.compile(r"^Waiting \d+ sec$"))
    expect(mod.locator("#unread-total")).to_have_text("1")
    expect(mod.get_by_role("navigation", name="Main").get_by_role("link", name="Workspace 1")).to_be_visible()
    assert mod.title().startswith("(1) ")
    shot(mod, "unread_moderator_list_preview_and_wait")

    # The moderator opens it: the client, still on the conversation, sees "Vu".
    receipt = cli.locator(f"#receipt-p{hanna.id}")
    expect(receipt).to_be_empty()
    entry.locator("a").click()
    expect(receipt).to_have_text("Vu")
    shot(cli, f"unread_seen_on_the_client_{client_size}")

    # The client goes to the profile list; the reply arrives there as a badge.
    cli.goto(f"{web_server.url}/profiles")
    expect(cli.locator("body")).to_have_class(LIVE)
    strip_entry = cli.locator(f"#strip-p{hanna.id}")
    expect(strip_entry).to_be_visible()
    expect(strip_entry.locator(".unread-count")).to_have_count(0)
    expect(cli.locator("#unread-total")).to_be_hidden()
    mod.locator("form[data-send-form] textarea").click()
    mod.keyboard.type("Oui, je suis là !")
    mod.keyboard.press("Enter")
    expect(strip_entry.locator(".unread-count")).to_have_text("1")
    expect(strip_entry.locator(".strip-preview")).to_have_text("Oui, je suis là !")
    expect(cli.locator("#unread-total")).to_have_text("1")
    expect(cli.get_by_role("navigation").get_by_role("link", name="Profils 1")).to_be_visible()  # not by "Assistance"
    expect(cli).to_have_title(re.compile(r"^\(1\) "))
    assert cli.locator("[data-strip-entry]").count() == 1
    shot(cli, f"unread_badge_on_the_profile_list_{client_size}")

    # The moderator's receipt waits for the client to see the reply.
    mod_receipt = mod.locator(".conversation .receipt")
    expect(mod_receipt).to_be_empty()

    # The client opens the conversation and sees the reply: read, everywhere.
    strip_entry.locator("a").click()
    expect(cli.locator(f"#messages-p{hanna.id} .msg.theirs")).to_have_count(1)
    expect(cli.locator("#unread-total")).to_be_hidden()
    expect(cli).not_to_have_title(re.compile(r"^\("))
    expect(mod_receipt).to_have_text(re.compile(r"^Seen \d\d:\d\d$"))
    shot(mod, "unread_seen_on_the_moderator")

    # A newer message takes "Seen" away on both sides (the client's own is not seen yet).
    cli.locator("form[data-send-form] textarea").click()
    cli.keyboard.type("Super, merci !")
    cli.keyboard.press("Enter")
    expect(mod.locator(".conversation .msg.theirs").filter(has_text="Super, merci !")).to_have_count(1)
    expect(mod_receipt).to_be_empty()
    expect(receipt).to_be_empty()
    cli.go_back()
    expect(cli.locator(f"#strip-p{hanna.id} .unread-count")).to_have_count(0)

    unexpected = browser_problems.unexpected()
    assert not unexpected, "browser errors:\n" + "\n".join(map(str, unexpected))


def test_a_reply_pushed_while_the_client_page_refreshes_its_strip_is_not_undone(new_context, browser_problems,
                                                                                web_server):
    """A client's page refreshes its conversation strip and its unread badge when its socket opens.
    Both answers are read before the moderator's reply and arrive after its push. The strip's
    (the push added to it) would show the reply as read until the next change: the page fetches
    the strip once more. The badge's is dropped (the push replaced the element it was for)."""
    moderator = make_user(Role.MODERATOR, display_name="Inès")
    client = make_user(display_name="Julien", locale="fr")
    hanna = make_profile("Hanna", 31)
    mod, cli = moderator_and_phone_client(new_context, browser_problems, moderator, client, hanna,
                                          web_server.url, web_server.url)
    type_and_send(cli, "Salut Hanna", touch=True)
    mod.locator("#conversation-list li.conv").filter(has_text="Julien").locator("a").click()
    expect(mod.locator("#conversation-panel form[data-send-form] textarea")).to_be_visible()

    refreshes = re.compile(r"/profiles/conversations$|/unread$")
    held = []                                 # answered by the server when asked, given to the page later
    cli.route(refreshes, lambda route: held.append((route, route.fetch())))
    cli.goto(f"{web_server.url}/profiles")
    expect(cli.locator("body")).to_have_class(LIVE)
    until_held(cli, held, 2)                  # the strip and the badge, read before the reply
    type_and_send(mod, "Oui, je suis là !")
    unread_in_strip, badge = cli.locator(f"#strip-p{hanna.id} .unread-count"), cli.locator("#unread-total")
    expect(unread_in_strip).to_have_text("1")                           # pushed
    expect(badge).to_have_text("1")
    for route, answered in held[:2]:
        route.fulfill(response=answered)
    expect(unread_in_strip).to_have_count(0)                            # the strip's older answer, swapped in
    until_held(cli, held, 3)                  # ... and the strip asked for again
    assert [route.request.url.rsplit("/", 1)[1] for route, _ in held[2:]] == ["conversations"]
    for route, answered in held[2:]:
        route.fulfill(response=answered)
    expect(unread_in_strip).to_have_text("1")
    expect(badge).to_have_text("1")
    cli.unroute(refreshes)
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))
