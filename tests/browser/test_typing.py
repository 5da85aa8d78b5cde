"""The typing indicator, live in two browsers: a client on a phone (in French), a moderator on a
desktop (in English), each page served by its own process. Whoever types, the other side sees
it; it goes by itself after a few seconds of silence, and at once when the message arrives."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.models import Role
from tests.support.browser import (LIVE, PHONE, live_moderator_page, log_in, moderator_and_phone_client,
                                  require_chromium, type_and_send, until_held)
from tests.support.factories import make_profile, make_user

require_chromium()

SILENCE = 20_000   # more than the indicator's life without a new signal (TYPING_SHOWN_SECONDS)


def test_each_side_sees_the_other_typing_until_silence_or_the_message(new_context, browser_problems, shot,
                                                                        web_server, second_web_server):
    moderator = make_user(Role.MODERATOR, display_name="Inès")
    client = make_user(display_name="Julien", locale="fr")
    hanna = make_profile("Hanna", 31)

    # The client's page has no conversation yet: their first message makes it, and their page
    # learns of it from the answer to that message (its push may come later, through the other
    # process), so what they type next shows on the moderator's list.
    mod, cli = moderator_and_phone_client(new_context, browser_problems, moderator, client, hanna, web_server.url,
                                          second_web_server.url)
    type_and_send(cli, "Salut Hanna", touch=True)
    entry = mod.locator("#conversation-list li.conv").filter(has_text="Julien")
    expect(entry).to_be_visible()
    conversation_id = entry.get_attribute("data-conversation-id")
    mark = entry.locator(".typing-mark")
    expect(mark).to_be_hidden()
    cli.keyboard.type("tu es là")
    expect(mark).to_have_text("typing…")
    shot(mod, "typing_mark_on_the_list")
    expect(mark).to_be_hidden(timeout=SILENCE)                     # silence: it goes by itself

    # In the open conversation: the client's typing under the messages.
    entry.locator("a").click()
    shown = mod.locator(f"#typing-c{conversation_id}")
    expect(shown).to_be_empty()
    cli.keyboard.type(" ?")
    expect(shown).to_have_text("Julien is typing…")
    expect(mark).to_have_text("typing…")
    shot(mod, "typing_client_seen_by_moderator")
    expect(shown).to_be_empty(timeout=SILENCE)
    expect(mark).to_be_hidden()

    # The moderator types as Hanna: the client sees it, in French, on the phone.
    on_phone = cli.locator(f"#typing-p{hanna.id}")
    expect(on_phone).to_be_empty()
    mod.locator("form[data-send-form] textarea").click()
    mod.keyboard.type("Oui, je suis là")
    expect(on_phone).to_have_text("Hanna est en train d’écrire…")
    shot(cli, "typing_moderator_seen_by_client_phone")

    # ... and sends: the indicator is gone as the message shows (not a while after).
    mod.keyboard.press("Enter")
    expect(cli.locator(f"#messages-p{hanna.id} .msg.theirs")).to_have_count(1)
    assert cli.evaluate(f"document.getElementById('typing-p{hanna.id}').textContent") == ""
    shot(cli, "typing_gone_with_the_message_phone")

    # The client answers while the moderator watches: the same, the other way.
    cli.locator("form[data-send-form] textarea").tap()
    cli.keyboard.type("Super")
    expect(shown).to_have_text("Julien is typing…")
    cli.keyboard.press("Enter")
    expect(mod.locator(f"#messages-c{conversation_id} .msg.theirs")).to_have_count(2)
    assert mod.evaluate(f"document.getElementById('typing-c{conversation_id}').textContent") == ""
    shot(mod, "typing_gone_with_the_message")

    unexpected = browser_problems.unexpected()
    assert not unexpected, "browser errors:\n" + "\n".join(map(str, unexpected))


@pytest.mark.parametrize("first", ["answer", "push"])
def test_typing_while_the_first_message_is_on_its_way_shows_once_the_page_has_its_conversation(
        new_context, browser_problems, web_server, second_web_server, first):
    """The client types on while their page does not know the conversation their first message
    opened (its answer and its push are both held back): its signals name none. When the answer,
    or the push, gives the page the conversation, the typing still under way is signalled in it,
    with no further key: the moderator sees it."""
    moderator = make_user(Role.MODERATOR, display_name="Inès")
    client = make_user(display_name="Julien", locale="fr")
    hanna = make_profile("Hanna", 31)
    mod = live_moderator_page(new_context, browser_problems, moderator, web_server.url)
    page = new_context(**PHONE)
    pushes = {"held": None}                    # the client's pushes naming their conversation, held back

    def socket(ws):
        server = ws.connect_to_server()
        pushes["page"] = ws

        def to_page(message):
            if pushes["held"] is not None and "data-own-conversation" in str(message):
                pushes["held"].append(message)
            else:
                ws.send(message)
        server.on_message(to_page)

    page.route_web_socket("**/ws", socket)
    cli = browser_problems.watch(page, "client")
    log_in(cli, second_web_server.url, client.email, touch=True)
    cli.goto(f"{second_web_server.url}/profiles/{hanna.id}")
    expect(cli.locator("body")).to_have_class(LIVE)
    answers = []

    def hold(route):
        if route.request.method == "POST":
            answers.append((route, route.fetch()))
        else:
            route.continue_()

    sends = re.compile(r"/profiles/\d+/messages$")
    cli.route(sends, hold)
    pushes["held"] = []
    type_and_send(cli, "Salut Hanna", touch=True)
    until_held(cli, answers, 1)                # stored: the moderator has it, the page does not know yet
    entry = mod.locator("#conversation-list li.conv").filter(has_text="Julien")
    expect(entry).to_be_visible()
    cli.keyboard.type("tu es là")
    cli.wait_for_timeout(300)                  # every key's signal went out, none naming a conversation
    mark = entry.locator(".typing-mark")
    expect(mark).to_be_hidden()
    if first == "answer":
        route, answered = answers[0]
        route.fulfill(response=answered)
    else:
        held, pushes["held"] = pushes["held"], None
        for message in held:
            pushes["page"].send(message)
    expect(cli.locator("[data-own-conversation]")).not_to_have_attribute("data-own-conversation", "")
    expect(mark).to_have_text("typing…")
    assert not browser_problems.unexpected(), "\n".join(map(str, browser_problems.problems))
