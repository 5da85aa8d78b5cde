"""A support ticket in the browser: a client (French, on a phone) opens one from the "Support"
link, an admin (another browser, desktop) finds it in the queue, answers publicly and writes an
internal note; the client reads the answer and never the note. No console error, no CSP violation."""
from __future__ import annotations

from playwright.sync_api import expect

from app.extensions import db
from app.jobs.photos import process_photo
from app.models import Photo, Role
from tests.support.context import app_context
from tests.support.images import halves, jpeg
from tests.support.browser import DESKTOP, admin_menu, PHONE, log_in, require_chromium
from tests.support.factories import make_user

require_chromium()


def test_a_client_opens_a_ticket_and_reads_the_admins_answer(new_context, browser_problems, shot, web_server):
    client = make_user(display_name="Julien", locale="fr")
    make_user(Role.ADMIN, display_name="Ada", locale="en", email="ada@example.test")

    cli = browser_problems.watch(new_context(**PHONE), "client")
    log_in(cli, web_server.url, client.email)
    cli.locator('nav.mainnav a[href="/support"]').click()
    cli.locator('a[href="/support/new"]').click()
    form = cli.locator("form.ticket-form")
    expect(form.locator("select[name=conversation_id]")).to_be_hidden()  # only for a conversation's report
    form.locator("select[name=kind]").select_option("conversation")
    expect(form.locator("select[name=conversation_id]")).to_be_visible()
    form.locator("select[name=kind]").select_option("problem")
    shot(cli, "tickets_client_new")
    form.locator("input[name=subject]").fill("Ma photo ne part pas")
    form.locator("textarea[name=body]").fill("J'envoie une photo <b>et</b> rien n'arrive.")
    form.locator("input[name=photo]").set_input_files(files=[{"name": "capture.jpg", "mimeType": "image/jpeg",
                                                             "buffer": jpeg(halves(800, 600))}])
    form.locator("button[type=submit]").click()
    expect(cli.locator(".ticket-timeline")).to_contain_text("J'envoie une photo <b>et</b> rien n'arrive.")
    expect(cli.locator(".ticket-photos .photo-placeholder")).to_be_visible()  # until the job has made its sizes
    with app_context():  # the photo job's work (the worker's, in production)
        process_photo(db.session.scalars(db.select(Photo.id)).one())
    cli.reload()
    expect(cli.locator(".ticket-photos img")).to_be_visible()
    ticket_path = cli.url.removeprefix(web_server.url)

    adm = browser_problems.watch(new_context(**DESKTOP), "admin")
    log_in(adm, web_server.url, "ada@example.test")
    admin_menu(adm, "/admin/tickets")
    row = adm.locator("tr[data-ticket-id]").filter(has_text="Ma photo ne part pas")
    expect(row).to_contain_text("Julien")
    shot(adm, "tickets_admin_queue")
    row.locator("a").click()
    answer = adm.locator("#ticket-comment")
    answer.locator("textarea[name=body]").fill("Could you try again with a smaller photo?")
    answer.locator("button[type=submit]").click()
    expect(adm.locator("#flash")).to_contain_text("Your answer was added.")
    answer.locator("textarea[name=body]").fill("Their phone sends HEIC; check the decoder.")
    answer.locator("input[name=internal]").check()
    answer.locator("button[type=submit]").click()
    expect(adm.locator(".ticket-entry.internal")).to_contain_text("Their phone sends HEIC")
    adm.locator("select[name=state]").select_option("waiting")
    adm.locator("form[action$='/status'] button").click()
    adm.locator("select[name=assignee]").select_option(label="Ada (me)")
    adm.locator("form[action$='/assign'] button").click()
    expect(adm.locator(".ticket-facts dt:has-text(\"Assignee\") + dd")).to_have_text("Ada")
    shot(adm, "tickets_admin_ticket", full_page=True)

    cli.goto(web_server.url + ticket_path)
    timeline = cli.locator(".ticket-timeline")
    expect(timeline).to_contain_text("Could you try again with a smaller photo?")
    expect(timeline).not_to_contain_text("HEIC")
    expect(cli.locator(".ticket-entry.internal")).to_have_count(0)
    expect(cli.locator(".ticket-state.state-waiting")).to_be_visible()
    shot(cli, "tickets_client_ticket", full_page=True)
    cli.locator("#ticket-comment textarea[name=body]").fill("Avec une petite photo, ça marche !")
    cli.locator("#ticket-comment button[type=submit]").click()
    expect(cli.locator(".ticket-state.state-open")).to_be_visible()  # answered: open again
    assert not browser_problems.unexpected()
