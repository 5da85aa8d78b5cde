"""A forgotten password, as a person recovers it: asks for a link, opens it from the mail the
worker sent (read from the SMTP sink), sets a new password, logs in with it."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from app.dev import outbox
from tests.support.browser import DESKTOP, log_in, require_chromium
from tests.support.factories import make_user
from tests.support.waiting import wait_until

require_chromium()


def test_a_user_resets_a_forgotten_password_from_the_mailed_link(new_context, browser_problems, shot, web_server,
                                                                 rq_worker, smtp_sink):
    user = make_user(email="distrait@example.test", display_name="Distrait", locale="fr")
    page = browser_problems.watch(new_context(**DESKTOP), "user")
    page.goto(f"{web_server.url}/login")
    page.locator("a[href='/password/forgot']").click()
    page.locator("main form input[name=email]").fill(user.email)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-reset-asked]")).to_be_visible()

    mail = wait_until(lambda: next((m for m in outbox.list_mails(smtp_sink) if user.email in m["recipients"]), None),
                      timeout=20)
    link = re.search(r"http://\S+/password/reset/\S+", outbox.get_mail(smtp_sink, mail["key"])["text"]).group(0)
    assert link.startswith(web_server.url)
    page.goto(link)
    page.locator("main form input[name=new_password]").fill("un-nouveau-secret-42")
    page.locator("main form input[name=confirm]").fill("un-nouveau-secret-42")
    shot(page, "password_reset_form")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{web_server.url}/login")

    log_in(page, web_server.url, user.email, password="un-nouveau-secret-42")
    expect(page).to_have_url(f"{web_server.url}/profiles")
    expect(page.locator("a.whoami")).to_have_text("Distrait")
    browser_problems.phase = "used-link"
    page.goto(link)                                                    # the link worked once: a 400 page
    expect(page.locator("[data-link-invalid]")).to_be_visible()
    shot(page, "password_reset_link_used")
    allowed = {("user", "used-link"): [re.compile(r"status of 400 .*/password/reset/")]}
    assert not browser_problems.unexpected(allowed), "\n".join(map(str, browser_problems.problems))
