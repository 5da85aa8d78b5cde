"""A moderator's conversation list reads the same live and after a reload: waiting conversations
first, then the answered ones, each group newest first."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from app.models import Role
from tests.support.browser import live_moderator_page, require_chromium, type_and_send
from tests.support.factories import make_profile, make_user, token
from tests.support.http import LiveSession, login

require_chromium()


def names_in_list(page) -> list[str]:
    return page.locator("#conversation-list li.conv .names strong").all_inner_texts()


def test_answered_conversations_take_their_place_as_a_reload_would_show_them(new_context, browser_problems, shot,
                                                                              web_server):
    moderator = make_user(Role.MODERATOR, display_name="Mona")
    profile = make_profile("Hugo", 30)
    page = live_moderator_page(new_context, browser_problems, moderator, web_server.url)

    for name in ("Anna", "Bruno", "Carla"):  # one after the other: Carla's is the newest
        session = LiveSession(web_server.url)
        csrf = login(session, make_user(display_name=name).email)
        response = session.post(f"/profiles/{profile.id}/messages", data={"body": f"{name} is here", "client_token": token()},
                                headers={"X-CSRFToken": csrf, "HX-Request": "true"})
        assert response.status_code == 200, response.text
    expect(page.locator("#conversation-list li.conv.waiting")).to_have_count(3)
    assert names_in_list(page) == ["Carla", "Bruno", "Anna"]

    for name in ("Anna", "Carla"):  # answered: out of the waiting group, the latest answer first
        entry = page.locator("#conversation-list li.conv").filter(has_text=name)
        entry.locator("a").click()
        expect(entry).to_have_attribute("aria-current", "true")
        type_and_send(page, f"Hello {name}")
        expect(entry).not_to_have_class(re.compile(r"\bwaiting\b"))
    expect(page.locator("#conversation-list li.conv.waiting")).to_have_count(1)
    live_order = names_in_list(page)
    shot(page, "moderator_list_order")
    assert live_order == ["Bruno", "Carla", "Anna"]

    page.reload()
    expect(page.locator("#conversation-list li.conv")).to_have_count(3)
    assert names_in_list(page) == live_order
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))
