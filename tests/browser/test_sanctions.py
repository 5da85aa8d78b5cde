"""Bans and mutes as the client sees them.

- A client has the conversation open; an admin bans them from the users page in another browser:
  the client's open page says why and until when, without a reload, and its socket is gone.
- A muted client reads the conversation; the composer says they are muted until when, and why.
- The holding moderator mutes the client from the conversation, later an admin lifts it: the
  client's open composer follows both without a reload.
"""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Role, User
from app.services.moderation import sanctions
from tests.support.browser import (DESKTOP, LIVE, PHONE, log_in, moderator_and_phone_client, require_chromium,
                                   type_and_send)
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user

require_chromium()


def test_a_ban_shows_on_the_clients_open_page_without_reload(new_context, browser_problems, shot, web_server):
    make_user(Role.MODERATOR, online=True)
    admin = make_user(Role.ADMIN, locale="en")
    client = make_user(display_name="Julien", locale="en")
    profile = make_profile("Hanna", 31)

    cli = browser_problems.watch(new_context(**PHONE), "client")
    log_in(cli, web_server.url, client.email, touch=True)
    cli.goto(f"{web_server.url}/profiles/{profile.id}")
    expect(cli.locator("body")).to_have_class(LIVE)
    type_and_send(cli, "Hello Hanna", touch=True)
    expect(cli.locator(".msg .body").filter(has_text="Hello Hanna")).to_be_visible()
    cli.evaluate("window.__sameDocument = true")

    adm = browser_problems.watch(new_context(**DESKTOP), "admin")
    log_in(adm, web_server.url, admin.email)
    adm.goto(f"{web_server.url}/admin/users?role=client")
    widget = adm.locator(f"#sanctions-{client.id}")
    widget.locator("summary").click()
    widget.locator("select[name=kind]").select_option("ban")
    widget.locator("input[name=reason]").click()
    adm.keyboard.type("Spam links")
    widget.locator("select[name=duration]").select_option("86400")
    shot(adm, "sanctions_admin_form")
    widget.locator("button[type=submit]").click()
    expect(adm.locator(f"#sanctions-{client.id}")).to_contain_text("Spam links")
    shot(adm, "sanctions_admin_after")

    notice = cli.locator("#banned")
    expect(notice).to_contain_text("You are banned")
    expect(notice).to_contain_text("Spam links")
    expect(notice).to_contain_text("until")
    assert cli.evaluate("window.__sameDocument === true")  # no reload
    expect(cli.locator("form[data-send-form]")).to_have_count(0)
    expect(cli.locator("[ws-connect]")).to_have_count(0)
    shot(cli, "sanctions_banned_live")


def test_a_muted_clients_composer_says_until_when(new_context, browser_problems, shot, web_server):
    admin = make_user(Role.ADMIN)
    client = make_user(display_name="Julien", locale="en")
    profile = make_profile("Hanna", 31)
    with app_context():
        now = utcnow()
        with write_transaction():
            sanctions.impose(db.session.get(User, admin.id), client.id, "mute", "Shouting", now + timedelta(hours=2),
                             now)
    cli = browser_problems.watch(new_context(**PHONE), "client")
    log_in(cli, web_server.url, client.email, touch=True)
    cli.goto(f"{web_server.url}/profiles/{profile.id}")
    expect(cli.locator("body")).to_have_class(LIVE)
    note = cli.locator("#composer-muted")
    expect(note).to_contain_text("You are muted until")
    expect(note).to_contain_text("Shouting")
    expect(cli.locator("form[data-send-form]")).to_have_count(0)
    shot(cli, "sanctions_muted_composer")


def test_a_mute_and_its_lifting_reach_the_clients_open_composer(new_context, browser_problems, shot, web_server):
    """The holding moderator mutes the client from the conversation: the client's open page swaps
    its composer for the note without a reload; an admin lifts the mute: the composer is back."""
    moderator = make_user(Role.MODERATOR, display_name="Inès", locale="en")
    admin = make_user(Role.ADMIN, locale="en")
    client = make_user(display_name="Julien", locale="en")
    profile = make_profile("Hanna", 31)

    mod, cli = moderator_and_phone_client(new_context, browser_problems, moderator, client, profile, web_server.url,
                                          web_server.url)
    type_and_send(cli, "HELLO HANNA!!!", touch=True)
    cli.evaluate("window.__sameDocument = true")
    mod.locator("#conversation-list li.conv").filter(has_text="Julien").locator("a").click()
    expect(mod.locator(".msg.theirs").filter(has_text="HELLO HANNA!!!")).to_be_visible()
    sanction = mod.locator("[id^=client-sanction-c]")
    sanction.locator("summary").click()
    sanction.locator("input[name=reason]").click()
    mod.keyboard.type("Shouting")
    sanction.locator("select[name=duration]").select_option(label="1 hour")
    shot(mod, "sanctions_moderator_mute_form")
    sanction.locator("button[type=submit]").click()
    expect(mod.locator("[id^=client-sanction-c]")).to_contain_text("Shouting")

    note = cli.locator("#composer-muted")
    expect(note).to_contain_text("You are muted until")
    expect(note).to_contain_text("Shouting")
    expect(cli.locator("form[data-send-form]")).to_have_count(0)
    assert cli.evaluate("window.__sameDocument === true")  # no reload
    shot(cli, "sanctions_muted_live")

    adm = browser_problems.watch(new_context(**DESKTOP), "admin")
    log_in(adm, web_server.url, admin.email)
    adm.goto(f"{web_server.url}/admin/users?role=client")
    adm.locator(f"#sanctions-{client.id} form.sanction button[type=submit]").click()
    expect(adm.locator(f"#sanctions-{client.id}")).not_to_contain_text("Shouting")

    expect(cli.locator("#composer-muted")).to_have_count(0)
    expect(cli.locator("form[data-send-form] textarea")).to_be_enabled()
    assert cli.evaluate("window.__sameDocument === true")
    type_and_send(cli, "sorry", touch=True)
    expect(mod.locator(".msg.theirs").filter(has_text="sorry")).to_be_visible()
    shot(cli, "sanctions_unmuted_live")
