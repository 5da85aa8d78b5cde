"""When an answer is lost: in production a proxy stands in front of the web processes and answers
502 when the process that took a request died before answering (a message may be stored). The
client's composer gets the text back and says the message was not confirmed; sending it again
stores it once (the same client token). Any other action the person took says the server could
not be reached. The proxy's error page never lands in the page. Console errors: only the 502s.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

from app.models import Message, Role
from tests.support.browser import LIVE, PHONE, log_in, require_chromium, type_and_send
from tests.support.factories import count, make_profile, make_user

require_chromium()

PROXY_502 = ("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
             "<hr><center>nginx</center></body></html>")


PROXY_502_IN_CONSOLE = {("client", "lost"): [
    re.compile(r"^Failed to load resource: the server responded with a status of 502"),
    re.compile(r"^Response Status Error Code 502 from /profiles/")]}


def phone_client_on_profile(new_context, browser_problems, base_url: str, client, profile):
    page = browser_problems.watch(new_context(**PHONE), "client")
    log_in(page, base_url, client.email, touch=True)
    page.goto(f"{base_url}/profiles/{profile.id}")
    expect(page.locator("body")).to_have_class(LIVE)
    return page


def test_a_message_whose_answer_was_lost_is_sent_again_and_stored_once(new_context, browser_problems, shot,
                                                                        web_server):
    make_user(Role.MODERATOR, display_name="Inès", online=True)
    client = make_user(display_name="Julien", locale="fr")
    hanna = make_profile("Hanna", 31)
    cli = phone_client_on_profile(new_context, browser_problems, web_server.url, client, hanna)

    answers = []

    def stored_then_answer_lost(route):
        answers.append(route.fetch())          # the server stores the message and answers...
        route.fulfill(status=502, content_type="text/html", body=PROXY_502)   # ...the page gets the proxy's 502

    browser_problems.phase = "lost"
    cli.route(re.compile(rf"/profiles/{hanna.id}/messages$"), stored_then_answer_lost, times=1)
    textarea = type_and_send(cli, "Tu es là ?", touch=True)
    expect(cli.locator("#send-error")).to_have_text(
        "Non confirmé : la connexion a été interrompue. Appuyez sur Entrée pour le renvoyer ; "
        "il ne sera pas envoyé deux fois.")
    expect(textarea).to_have_value("Tu es là ?")
    assert answers[0].status == 200 and count(Message, body="Tu es là ?") == 1
    assert "Bad Gateway" not in cli.locator("body").inner_text()
    shot(cli, "send_answer_lost_text_kept_phone")

    browser_problems.phase = "normal"
    textarea.tap()
    cli.keyboard.press("Enter")
    expect(textarea).to_have_value("")
    expect(cli.locator("#send-error")).to_be_empty()
    bubbles = cli.locator(".msg .body").filter(has_text=re.compile(r"^\s*Tu es là \?\s*$"))
    expect(bubbles).to_have_count(1)
    cli.wait_for_timeout(500)                  # a late push of the same message would show here
    expect(bubbles).to_have_count(1)
    assert count(Message, body="Tu es là ?") == 1
    shot(cli, "send_answer_lost_sent_again_once_phone")

    assert browser_problems.unexpected(PROXY_502_IN_CONSOLE) == []


def test_an_action_answered_by_a_proxy_error_says_the_server_could_not_be_reached(new_context, browser_problems,
                                                                                  shot, web_server):
    client = make_user(display_name="Julien", locale="fr")
    hanna = make_profile("Hanna", 31)
    cli = phone_client_on_profile(new_context, browser_problems, web_server.url, client, hanna)

    browser_problems.phase = "lost"
    cli.route(re.compile(rf"/profiles/{hanna.id}/report$"),
              lambda route: route.fulfill(status=502, content_type="text/html", body=PROXY_502))
    cli.locator(".report-control summary").tap()          # opening it loads the report form
    alert = cli.locator("#flash .alert-error")
    expect(alert).to_contain_text("Impossible de joindre Switchboard. Vérifiez votre connexion et réessayez.")
    assert "Bad Gateway" not in cli.locator("body").inner_text()
    shot(cli, "action_answered_by_a_proxy_error_phone")
    alert.locator("[data-dismiss]").tap()
    expect(alert).to_have_count(0)
    assert browser_problems.unexpected(PROXY_502_IN_CONSOLE) == []
