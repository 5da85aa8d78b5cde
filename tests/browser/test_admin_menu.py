"""The admin on a phone and a desktop. The top bar: their pages in five groups, one open at a time;
on a phone the bar stays two short rows and a group's menu spans the screen below it. A group
opens with a tap, closes on a tap elsewhere, on Escape, or when another opens; the group of the
page shown is marked. No admin page is wider than a phone."""
from __future__ import annotations

from playwright.sync_api import expect

from app.models import Role
from tests.support.browser import DESKTOP, PHONE, admin_menu, log_in, require_chromium
from tests.support.factories import make_profile, make_user

require_chromium()

GROUPS = {"People": ["Users", "Profiles"], "Work": ["Assignments", "Conflicts", "Locks", "Rounds"],
          "Moderation": ["Reports", "Moderation log", "Filters", "Search"], "Support": ["Tickets", "Canned replies"],
          "System": ["Operations", "Statistics", "Outbox"]}


def test_an_admin_reaches_every_page_from_short_groups_on_a_phone_and_a_desktop(new_context, browser_problems, shot,
                                                                                web_server):
    admin = make_user(Role.ADMIN, display_name="Ada", locale="en")
    for name, device in (("phone", PHONE), ("desktop", DESKTOP)):
        page = browser_problems.watch(new_context(**device), f"admin on a {name}")
        log_in(page, web_server.url, admin.email)
        bar, nav = page.locator("header.topbar"), page.locator("nav.mainnav")
        summaries = nav.locator("details[data-navgroup] > summary")
        expect(summaries).to_have_text(list(GROUPS))
        expect(nav.locator("details[open]")).to_have_count(0)
        # 17 links in a row wrapped into a block of six lines on a phone (four on a desktop)
        assert bar.bounding_box()["height"] <= (100 if name == "phone" else 60), bar.bounding_box()

        for group, links in GROUPS.items():
            summaries.filter(has_text=group).click()
            menu = nav.locator("details[open] .navmenu")
            expect(menu.locator("a")).to_have_text(links)
            expect(nav.locator("details[open]")).to_have_count(1)  # the one before closed
            box, viewport = menu.bounding_box(), page.viewport_size
            assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (group, box)
        shot(page, f"admin_menu_{name}_open")

        page.keyboard.press("Escape")
        expect(nav.locator("details[open]")).to_have_count(0)
        summaries.filter(has_text="Work").click()
        page.mouse.click(5, page.viewport_size["height"] - 5)  # a tap outside the menu
        expect(nav.locator("details[open]")).to_have_count(0)

        admin_menu(page, "/admin/statistics")
        expect(page.locator("h1")).to_have_text("Statistics")
        expect(nav.locator("details[open]")).to_have_count(0)  # a new page: every group closed
        expect(nav.locator("details.current > summary")).to_have_text("System")
        expect(nav.locator('a[aria-current="page"]')).to_have_text("Statistics")
        shot(page, f"admin_menu_{name}_closed")


ADMIN_PAGES = ["/admin/", "/admin/users", "/admin/profiles", "/admin/assignments", "/admin/conflicts", "/admin/locks",
               "/admin/rounds", "/admin/outbox", "/admin/operations", "/admin/statistics", "/admin/search",
               "/admin/filters", "/admin/moderation", "/admin/reports", "/admin/canned", "/admin/tickets"]


def test_no_admin_page_is_wider_than_a_phone(new_context, browser_problems, shot, web_server):
    """Wide tables (users with their actions, rounds, conflicts…) scroll sideways in their own box:
    the page, its top bar and its headings keep the phone's width."""
    admin = make_user(Role.ADMIN, display_name="Ada", locale="fr")
    for index in range(3):
        make_user(Role.MODERATOR, display_name=f"Modératrice {index}")
        make_user(display_name=f"Client {index}")
    make_profile("Camille")
    page = browser_problems.watch(new_context(**PHONE), "admin on a phone")
    log_in(page, web_server.url, admin.email)
    wider = {}
    for path in ADMIN_PAGES:
        page.goto(web_server.url + path)
        page.wait_for_load_state("load")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > page.viewport_size["width"]:
            wider[path] = width
    assert wider == {}, wider
    page.goto(web_server.url + "/admin/rounds")
    table = page.locator("main table#rounds-history")
    assert page.evaluate("(t) => t.scrollWidth > t.clientWidth", table.element_handle())  # it scrolls, inside

    page.goto(web_server.url + "/admin/users")  # the users: a card each, its actions in view
    card = page.locator("table.user-table tbody tr").filter(has_text="Client 1")
    expect(card.locator("td[data-label]").first).to_be_visible()
    for button in (card.get_by_role("button", name="Désactiver"), card.get_by_role("button", name="Fermer les sessions")):
        box = button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= page.viewport_size["width"], box
    shot(page, "admin_users_phone")
