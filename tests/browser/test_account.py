"""The account page as a person uses it: from the name in the top bar, a new language and time
zone (the page then speaks it), and fewer notification mails."""
from __future__ import annotations

from playwright.sync_api import expect

from app.extensions import db
from app.models import User
from app.services import notifications
from tests.support.browser import PHONE, log_in, require_chromium
from tests.support.context import app_context
from tests.support.factories import make_user

require_chromium()


def test_a_client_changes_language_time_zone_and_mails(new_context, browser_problems, shot, web_server):
    client = make_user(display_name="Mara")
    page = browser_problems.watch(new_context(**PHONE), "client")
    log_in(page, web_server.url, client.email, touch=True)
    page.locator("a.whoami").tap()            # the name in the top bar leads to the account page
    expect(page.locator("h1")).to_have_text("Your account")
    page.locator("#account-settings select[name=locale]").select_option("de")
    page.locator("#account-settings select[name=time_zone]").select_option("Asia/Tokyo")
    page.locator("#account-settings button[type=submit]").tap()
    expect(page.locator("h1")).to_have_text("Ihr Konto")
    expect(page.locator("html")).to_have_attribute("lang", "de")

    replies = page.locator("#account-mail input[value=reply]")
    expect(replies).to_be_checked()
    replies.tap()
    page.locator("#account-mail button[type=submit]").tap()
    expect(page.locator("#account-mail input[value=reply]")).not_to_be_checked()
    shot(page, "account_phone", full_page=True)
    with app_context():
        user = db.session.get(User, client.id)
        assert (user.locale, user.time_zone) == ("de", "Asia/Tokyo")
        assert not notifications.wants_mail(user, "reply") and notifications.wants_mail(user, "ticket")
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))
