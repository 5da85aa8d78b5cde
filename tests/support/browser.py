"""Chromium's settings for the browser tests, and what a person does in a page."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support.context import app_context
from tests.support.factories import PASSWORD

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-component-update", "--no-first-run"]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}

LIVE = re.compile(r"(^|\s)is-live(\s|$)")


def in_ci() -> bool:
    """Whether the tests run under CI (the CI variable set to a true value)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_chromium() -> None:
    """Skip the calling module when Chromium is missing, except under CI where that is a failure."""
    if CHROMIUM.exists():
        return
    if in_ci():
        pytest.fail(f"CI is set but there is no Chromium at {CHROMIUM} (apt-get install chromium)", pytrace=False)
    pytest.skip(f"no Chromium at {CHROMIUM}: install it (apt-get install chromium) to run the browser tests",
                allow_module_level=True)


def log_in(page, base_url: str, email: str, *, touch: bool = False, before_submit=None,
           password: str = PASSWORD) -> None:
    """Fill the login form and press its button, like a person."""
    page.goto(f"{base_url}/login")
    for name, value in (("email", email), ("password", password)):
        field = page.locator(f"main form input[name={name}]")
        field.tap() if touch else field.click()
        field.fill(value)
    if before_submit:
        before_submit()
    button = page.locator("main form button[type=submit]")
    button.tap() if touch else button.click()
    page.wait_for_url(lambda url: "/login" not in url)


def admin_menu(page, path: str) -> None:
    """Go to an admin page through the top bar, as a person does: open the group holding its link
    (the overview has none), then follow the link."""
    group = page.locator(f'nav.mainnav details[data-navgroup]:has(a[href="{path}"])')
    if group.count():
        group.locator("summary").click()
    page.locator(f'nav.mainnav a[href="{path}"]').click()


def type_and_send(page, text: str, *, touch: bool = False):
    """Type ``text`` in the conversation's box and press Enter; returns the box."""
    textarea = page.locator("form[data-send-form] textarea")
    textarea.tap() if touch else textarea.click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    return textarea


def is_online(user_id: int) -> bool:
    """The user's stored presence, read afresh."""
    from app.extensions import db
    from app.models import User

    with app_context():
        db.session.expire_all()
        return db.session.get(User, user_id).is_online


def until_held(page, held: list, count: int) -> None:
    """Wait (letting the page run) until ``count`` requests have been caught by a route into ``held``."""
    for _ in range(200):
        if len(held) >= count:
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"{len(held)} of {count} requests seen")


def live_moderator_page(new_context, browser_problems, moderator, base_url: str):
    """A moderator's workspace on a desktop, logged in, live, their presence stored."""
    from playwright.sync_api import expect

    from tests.support.waiting import wait_until

    page = browser_problems.watch(new_context(**DESKTOP), "moderator")
    log_in(page, base_url, moderator.email)
    expect(page.locator("body")).to_have_class(LIVE)
    wait_until(lambda: is_online(moderator.id))
    return page


def moderator_and_phone_client(new_context, browser_problems, moderator, client, profile, moderator_url: str,
                               client_url: str):
    """A moderator on a desktop, their workspace live and their presence stored, and a client on
    a phone on the profile's chat page, live (each page may be served by its own process);
    returns the two pages."""
    from playwright.sync_api import expect

    mod = live_moderator_page(new_context, browser_problems, moderator, moderator_url)
    cli = browser_problems.watch(new_context(**PHONE), "client")
    log_in(cli, client_url, client.email, touch=True)
    cli.goto(f"{client_url}/profiles/{profile.id}")
    expect(cli.locator("body")).to_have_class(LIVE)
    return mod, cli
