"""The list a moderator works from: waiting / all and the order, chosen by clicking and kept
through pushes and reloads; and the connection-lost state, in words, with the composer off."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.clock import utcnow
from app.database import write_transaction
from app.models import ChangeReason, Role
from app.services import assignment
from tests.support.browser import (DESKTOP, LIVE, is_online, live_moderator_page, log_in, require_chromium,
                                   type_and_send, until_held)
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user, token
from tests.support.http import LiveSession, login
from tests.support.waiting import wait_until

require_chromium()
pytestmark = pytest.mark.slow


def names_in_list(page) -> list[str]:
    return page.locator("#conversation-list li.conv .names strong").all_inner_texts()


def client_writes(base_url: str, name: str, profile_id: int, body: str) -> None:
    session = LiveSession(base_url)
    csrf = login(session, make_user(display_name=name).email)
    response = session.post(f"/profiles/{profile_id}/messages", data={"body": body, "client_token": token()},
                            headers={"X-CSRFToken": csrf, "HX-Request": "true"})
    assert response.status_code == 200, response.text


def test_waiting_filter_and_longest_wait_order_by_clicking_and_through_pushes(new_context, browser_problems, shot,
                                                                              web_server):
    moderator = make_user(Role.MODERATOR, display_name="Mona")
    profile = make_profile("Hugo", 30)
    page = live_moderator_page(new_context, browser_problems, moderator, web_server.url)
    for name in ("Anna", "Bruno", "Carla"):                       # Anna has waited longest
        client_writes(web_server.url, name, profile.id, f"{name} is here")
    expect(page.locator("#conversation-list li.conv.waiting")).to_have_count(3)
    assert names_in_list(page) == ["Carla", "Bruno", "Anna"]      # all, latest activity

    page.get_by_role("button", name="Waiting", exact=True).click()
    expect(page.get_by_role("button", name="Waiting", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(page.locator("[data-list-sort]")).to_have_value("wait")
    expect(page.locator("#conversation-list")).to_have_attribute("data-filter", "waiting")
    assert names_in_list(page) == ["Anna", "Bruno", "Carla"]      # longest wait first

    entry = page.locator("#conversation-list li.conv").filter(has_text="Bruno")
    entry.locator("a").click()
    type_and_send(page, "Hello Bruno")                            # answered: leaves the waiting list
    expect(page.locator("#conversation-list li.conv")).to_have_count(2)
    assert names_in_list(page) == ["Anna", "Carla"]
    client_writes(web_server.url, "Dora", profile.id, "Dora is here")   # pushed: goes last (newest wait)
    expect(page.locator("#conversation-list li.conv")).to_have_count(3)
    assert names_in_list(page) == ["Anna", "Carla", "Dora"]

    page.locator("[data-list-sort]").select_option("latest")
    expect(page.locator("#conversation-list")).to_have_attribute("data-sort", "latest")
    assert names_in_list(page) == ["Dora", "Carla", "Anna"]
    shot(page, "moderator_list_waiting_latest")

    page.reload()                                                 # kept for the moderator
    expect(page.locator("#conversation-list li.conv")).to_have_count(3)
    assert names_in_list(page) == ["Dora", "Carla", "Anna"]
    page.get_by_role("button", name="All", exact=True).click()
    expect(page.locator("#conversation-list li.conv")).to_have_count(4)
    assert "Bruno" in names_in_list(page)
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))


def test_a_click_just_after_the_page_connects_is_not_lost_to_its_refresh(new_context, browser_problems, web_server):
    """When its socket opens the page refreshes the list; the moderator's first click can come while
    that refresh is on its way. Here every answer is held, then given newest first: the refresh,
    read before the click, must not come in last and undo it (the click's request waits for it)."""
    moderator = make_user(Role.MODERATOR, display_name="Mona")
    profile = make_profile("Hugo", 30)
    page = live_moderator_page(new_context, browser_problems, moderator, web_server.url)
    for name in ("Anna", "Bruno"):
        client_writes(web_server.url, name, profile.id, f"{name} is here")
    page.locator("#conversation-list li.conv").filter(has_text="Bruno").locator("a").click()
    type_and_send(page, "Hello Bruno")
    page.get_by_role("button", name="Waiting", exact=True).click()
    expect(page.locator("#conversation-list")).to_have_attribute("data-filter", "waiting")
    expect(page.locator("#conversation-list li.conv")).to_have_count(1)

    list_requests = re.compile(r"/moderateur/conversations(\?filter=all)?$")
    held = []                                 # answered by the server at once, given to the page in turn

    page.route(list_requests, lambda route: held.append((route, route.fetch())))
    page.reload()
    expect(page.locator("body")).to_have_class(LIVE)
    until_held(page, held, 1)                 # the refresh that follows the socket's opening
    page.get_by_role("button", name="All", exact=True).click()
    page.wait_for_timeout(300)
    given = list(held)
    for route, answered in reversed(given):   # the click's (if it was sent), then the refresh's
        route.fulfill(response=answered)
    until_held(page, held, 2)
    for route, answered in held[len(given):]:  # the click's, sent once the refresh was in
        route.fulfill(response=answered)
    expect(page.locator("#conversation-list")).to_have_attribute("data-filter", "all")
    expect(page.locator("#conversation-list li.conv")).to_have_count(2)
    expect(page.get_by_role("button", name="All", exact=True)).to_have_attribute("aria-pressed", "true")
    page.unroute(list_requests)
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))


REFRESH = re.compile(r"/moderateur/conversations$")


def reloaded_with_the_refresh_held(new_context, browser_problems, base_url: str):
    """A moderator's workspace listing Anna's conversation (with the profile Hugo), reloaded with the
    list's refreshes caught: answered by the server when asked, given to the page when the test says.
    Returns the page, Hugo, and the caught (route, answer) pairs, the first (the refresh that follows
    the socket's opening) already in."""
    moderator = make_user(Role.MODERATOR, display_name="Mona")
    profile = make_profile("Hugo", 30)
    page = live_moderator_page(new_context, browser_problems, moderator, base_url)
    client_writes(base_url, "Anna", profile.id, "Anna is here")
    expect(page.locator("#conversation-list li.conv")).to_have_count(1)
    held = []
    page.route(REFRESH, lambda route: held.append((route, route.fetch())))
    page.reload()
    expect(page.locator("body")).to_have_class(LIVE)
    until_held(page, held, 1)
    return page, profile, held


def test_a_conversation_opened_while_the_list_refreshes_opens(new_context, browser_problems, web_server):
    """The conversations' links are not held behind the list's refresh (whose answer replaces them)."""
    page, _, held = reloaded_with_the_refresh_held(new_context, browser_problems, web_server.url)
    page.locator("#conversation-list li.conv").filter(has_text="Anna").locator("a").click()
    page.wait_for_timeout(300)
    route, answered = held[0]
    route.fulfill(response=answered)
    expect(page.locator("#conversation-panel form[data-send-form] textarea")).to_be_visible()
    expect(page.locator("#conversation-panel .msg.theirs")).to_have_count(1)
    page.unroute(REFRESH)
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))


def test_a_click_answered_after_a_push_replaced_the_list_still_shows(new_context, browser_problems, web_server):
    """The whole list is pushed when the moderator receives or loses work; a click's answer that
    comes after such a push (here the click is held until the push is in) is still the list shown."""
    moderator = make_user(Role.MODERATOR, display_name="Mona")
    hugo, iris = make_profile("Hugo", 30), make_profile("Iris", 27)
    page = live_moderator_page(new_context, browser_problems, moderator, web_server.url)
    for name, profile in (("Anna", hugo), ("Bruno", hugo), ("Dora", iris)):
        client_writes(web_server.url, name, profile.id, f"{name} is here")
    expect(page.locator("#conversation-list li.conv")).to_have_count(3)
    dora = page.locator("#conversation-list li.conv").filter(has_text="Dora").get_attribute("data-conversation-id")
    page.locator("#conversation-list li.conv").filter(has_text="Bruno").locator("a").click()
    type_and_send(page, "Hello Bruno")
    page.get_by_role("button", name="Waiting", exact=True).click()
    expect(page.locator("#conversation-list")).to_have_attribute("data-filter", "waiting")
    expect(page.locator("#conversation-list li.conv")).to_have_count(2)

    held = []                                 # the click, kept from the server until the push is in
    page.route(re.compile(r"/moderateur/conversations\?filter=all$"), lambda route: held.append(route))
    page.get_by_role("button", name="All", exact=True).click()
    until_held(page, held, 1)
    otto = make_user(Role.MODERATOR, display_name="Otto", online=True)
    with app_context(), write_transaction():                       # Dora's profile goes to Otto:
        assert assignment.reassign(int(dora), otto.id, utcnow(), ChangeReason.MANUAL)   # Mona's list pushed
    expect(page.locator("#conversation-list li.conv")).to_have_count(1)     # (as she keeps it: waiting)
    held[0].continue_()
    expect(page.locator("#conversation-list")).to_have_attribute("data-filter", "all")
    expect(page.locator("#conversation-list li.conv")).to_have_count(2)
    assert sorted(names_in_list(page)) == ["Anna", "Bruno"]
    page.unroute(re.compile(r"/moderateur/conversations\?filter=all$"))
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))


def test_connection_lost_banner_disables_the_composer_until_the_socket_is_back(new_context, browser_problems, shot,
                                                                                web_server):
    moderator = make_user(Role.MODERATOR, display_name="Mona")
    profile = make_profile("Hugo", 30)
    context = new_context(**DESKTOP)
    state = {"block": False, "sockets": []}

    def route(ws):
        if state["block"]:                       # the server cannot be reached: refused at once
            ws.close(code=1013, reason="down")
            return
        ws.connect_to_server()
        state["sockets"].append(ws)

    context.route_web_socket("**/ws", route)
    page = browser_problems.watch(context, "moderator")
    log_in(page, web_server.url, moderator.email)
    expect(page.locator("body")).to_have_class(LIVE)
    wait_until(lambda: is_online(moderator.id))
    client_writes(web_server.url, "Anna", profile.id, "Anna is here")
    page.locator("#conversation-list li.conv").filter(has_text="Anna").locator("a").click()
    textarea = page.locator("[data-send-form] textarea")
    expect(textarea).to_be_enabled()
    banner = page.locator("#connection-lost")
    expect(banner).to_be_hidden()

    browser_problems.phase = "socket-down"
    state["block"] = True
    state["sockets"][-1].close(code=1012, reason="restart")       # the server's socket drops
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Connection lost — reconnecting…")
    expect(banner).to_contain_text("Your messages can't be sent until it's back.")
    expect(banner).to_contain_text("Until then you count as away: new conversations go to other moderators.")
    expect(textarea).to_be_disabled()
    expect(page.locator("[data-send-form] button[type=submit]")).to_be_disabled()
    shot(page, "connection_lost")

    state["block"] = False                                         # back: the next attempt gets through
    expect(banner).to_be_hidden(timeout=20_000)
    expect(textarea).to_be_enabled()
    browser_problems.phase = "back"
    type_and_send(page, "Back again")
    shot(page, "connection_back")
    outside_the_window = [p for p in browser_problems.problems if p.phase != "socket-down"]
    assert not outside_the_window, "\n".join(map(str, outside_the_window))


def test_a_conversation_pushed_while_the_list_refreshes_is_not_undone_by_it(new_context, browser_problems,
                                                                           web_server):
    """The refresh that follows the socket's opening is read before a new conversation comes and
    its answer arrives after that conversation's push: it would take the conversation back out of
    the list until the next change. The page fetches the list once more, and it stays."""
    page, profile, held = reloaded_with_the_refresh_held(new_context, browser_problems, web_server.url)
    # The refresh is in held, read before Bruno writes.
    client_writes(web_server.url, "Bruno", profile.id, "Bruno is here")
    expect(page.locator("#conversation-list li.conv")).to_have_count(2)   # Bruno's conversation, pushed
    route, answered = held[0]
    route.fulfill(response=answered)
    expect(page.locator("#conversation-list li.conv")).to_have_count(1)   # the older answer, swapped in
    until_held(page, held, 2)                 # ... and the list asked for again
    route, answered = held[1]
    route.fulfill(response=answered)
    expect(page.locator("#conversation-list li.conv")).to_have_count(2)
    assert names_in_list(page) == ["Bruno", "Anna"]
    page.unroute(REFRESH)
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))
