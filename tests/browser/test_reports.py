"""A report from client to admin to outcome, in the browser: a client (French) reports the profile's
message from its conversation page, an admin (another browser) finds it in /admin/reports and
decides, and the client's open page shows the outcome at once (pushed), again after a reload,
until they close it."""
from __future__ import annotations

from playwright.sync_api import expect

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Role, User
from app.services import chat, sending
from tests.support.browser import DESKTOP, admin_menu, LIVE, log_in, require_chromium
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user, token

require_chromium()


def test_a_report_goes_from_client_to_admin_and_back(new_context, browser_problems, shot, web_server):
    moderator = make_user(Role.MODERATOR, display_name="Inès", online=True)
    client = make_user(display_name="Julien", locale="fr")
    admin = make_user(Role.ADMIN, display_name="Ada", locale="en")
    hanna = make_profile("Hanna", 31)
    with app_context():
        with write_transaction():
            posted = sending.send_client_message(client.id, hanna.id, "Bonjour", token(), utcnow())
        with write_transaction():
            chat.post_profile_reply(db.session.get(User, moderator.id), posted.message.conversation_id,
                                    "Envoie-moi ton code de carte", token(), utcnow())

    cli = browser_problems.watch(new_context(**DESKTOP), "client")
    log_in(cli, web_server.url, client.email)
    cli.goto(f"{web_server.url}/profiles/{hanna.id}")
    expect(cli.locator("body")).to_have_class(LIVE)
    bubble = cli.locator(".msg.theirs").filter(has_text="Envoie-moi ton code de carte")
    bubble.locator(".report-control summary").click()
    form = bubble.locator("form.report-form")
    form.locator("select[name=reason]").select_option(label="Arnaque ou fraude")
    form.locator("textarea[name=comment]").click()
    cli.keyboard.type("Demande mon code bancaire")
    form.locator("button[type=submit]").click()
    expect(bubble.locator(".report-filed")).to_contain_text("un administrateur va examiner")
    shot(cli, "reports_client_filed")

    adm = browser_problems.watch(new_context(**DESKTOP), "admin")
    log_in(adm, web_server.url, admin.email)
    admin_menu(adm, "/admin/reports")
    row = adm.locator("tr[data-report-id]").filter(has_text="Demande mon code bancaire")
    expect(row).to_contain_text("Scam or fraud")
    expect(row).to_contain_text("Envoie-moi ton code de carte")
    shot(adm, "reports_admin_queue")
    row.locator("select[name=decision]").select_option(label="Upheld")
    row.locator("input[name=note]").fill("moderator told")
    row.locator("button[type=submit]").click()
    expect(adm.locator("#flash")).to_contain_text("The report was decided.")
    expect(adm.locator("tr[data-report-id]")).to_have_count(0)

    notice = cli.locator("#moderation-notices [data-notice-kind=outcome]")
    expect(notice).to_contain_text("a été examiné : des mesures ont été prises")  # pushed, no reload
    shot(cli, "reports_client_outcome")
    cli.reload()
    expect(notice).to_contain_text("Arnaque ou fraude")
    notice.locator("button.alert-close").click()
    expect(notice).to_have_count(0)
    cli.reload()
    expect(cli.locator(".msg.theirs").first).to_be_visible()
    expect(notice).to_have_count(0)
    assert not browser_problems.unexpected()
