"""A client writes a word a content filter blocks: the composer says why, in their language,
and nothing is sent."""
from __future__ import annotations

from datetime import datetime

from playwright.sync_api import expect

from app.database import write_transaction
from app.models import Message, Role
from app.services.filters import rules
from tests.support.browser import PHONE, log_in, require_chromium, type_and_send
from tests.support.context import app_context
from tests.support.factories import count, make_profile, make_user

require_chromium()


def test_a_client_sees_why_a_blocked_message_is_not_sent(new_context, shot, web_server):
    admin, client = make_user(Role.ADMIN), make_user(display_name="Julien", locale="fr")
    profile = make_profile("Léa", 27)
    with app_context():
        with write_transaction():
            rules.create_rule(admin, kind="words", expression="arnaque", language="all", action="block",
                              now=datetime(2026, 12, 8, 12))
        rules.changed()
    page = new_context(**PHONE).new_page()
    log_in(page, web_server.url, client.email, touch=True)
    page.goto(f"{web_server.url}/profiles/{profile.id}")
    type_and_send(page, "C'est une Arnaque !", touch=True)
    error = page.locator("form[data-send-form] .send-error")
    expect(error).to_contain_text("Ce message ne peut pas être envoyé")
    shot(page, "filter_blocked_phone")
    assert count(Message) == 0
