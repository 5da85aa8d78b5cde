"""The moderation log page for admins, and the client card's log for the moderator holding the conversation."""
from app.database import write_transaction
from app.models import Conversation, Role
from app.services.moderation import log
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user
from tests.support.http import login, send


def write(action, actor, subject, **extra):
    from app.clock import utcnow
    with app_context():
        with write_transaction():
            log.record(action, actor=actor, subject=subject, now=utcnow(), **extra)


def held_conversation(app):
    moderator = make_user(Role.MODERATOR, online=True)
    client_user = make_user(display_name="Chloé")
    browser = app.test_client()
    profile = make_profile()
    assert send(browser, login(browser, client_user.email), profile.id, "salut").status_code == 200
    with app_context():
        conversation_id = Conversation.query.filter_by(client_id=client_user.id).one().id
    return moderator, client_user, conversation_id


def test_admins_read_and_filter_the_log(app):
    admin = make_user(Role.ADMIN, display_name="Ada Admin")
    client_user = make_user(display_name="Zoé Client")
    write("ban", admin, client_user, reason="spam <b>links</b>")
    write("sanction_ended", None, client_user, detail={"kind": "ban"})
    browser = app.test_client()
    login(browser, admin.email)
    page = browser.get("/admin/moderation")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ada Admin" in html and "Zoé Client" in html and "<td>Banned</td>" in html and "System" in html
    assert "spam &lt;b&gt;links&lt;/b&gt;" in html and "Ban or mute ended (Ban)" in html
    assert 'href="/admin/moderation"' in browser.get("/admin/").get_data(as_text=True)  # in the nav
    only_bans = browser.get("/admin/moderation?action=ban").get_data(as_text=True)
    assert "<td>Banned</td>" in only_bans and "Ban or mute ended" not in only_bans.split("<tbody>")[1]
    by_email = browser.get(f"/admin/moderation?client={client_user.email}").get_data(as_text=True)
    assert by_email.count("data-log-line") == 2


def test_bad_filters_never_break_the_page(app):
    browser = app.test_client()
    login(browser, make_user(Role.ADMIN).email)
    write("warn", None, make_user())
    for query in ("action=explode", "since=2026-99-01&until=x", "actor=abc", "client=nobody%40example.test", "before=-1",
                  "actor=99999999999999", "client=99999999999999", "before=abc"):
        response = browser.get(f"/admin/moderation?{query}")
        assert response.status_code == 200, query
        html = response.get_data(as_text=True)
        assert "data-log-line" in html, query
    assert browser.get("/admin/moderation?client=%00").status_code == 400  # the site's guard on NUL, said
    assert "Unknown action" in browser.get("/admin/moderation?action=explode").get_data(as_text=True)


def test_the_page_comes_in_pages(app):
    app.config["MODERATION_LOG_PAGE_SIZE"] = 2
    try:
        admin = make_user(Role.ADMIN)
        for n in range(3):
            write("warn", admin, make_user(), reason=f"reason-{n}")
        browser = app.test_client()
        login(browser, admin.email)
        first = browser.get("/admin/moderation").get_data(as_text=True)
        assert first.count("data-log-line") == 2 and 'rel="next"' in first
        older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
        second = browser.get(older).get_data(as_text=True)
        assert second.count("data-log-line") == 1 and "reason-0" in second and 'rel="next"' not in second
    finally:
        app.config["MODERATION_LOG_PAGE_SIZE"] = 50


def test_moderators_and_clients_do_not_read_the_log_page(app):
    for role in (Role.MODERATOR, Role.CLIENT):
        browser = app.test_client()
        login(browser, make_user(role).email)
        assert browser.get("/admin/moderation").status_code == 403


def test_the_client_card_shows_the_clients_log_to_the_holder_only(app):
    moderator, client_user, conversation_id = held_conversation(app)
    admin = make_user(Role.ADMIN)
    write("ban", admin, client_user, reason="old spam")
    write("account_disabled", admin, client_user, reason="private admin note")
    holder = app.test_client()
    login(holder, moderator.email)
    panel = holder.get(f"/moderateur/c/{conversation_id}").get_data(as_text=True)
    card_url = f"/moderateur/c/{conversation_id}/client-log"
    assert f'hx-get="{card_url}"' in panel
    card = holder.get(card_url)
    html = card.get_data(as_text=True)
    assert card.status_code == 200 and "Banned" in html and "old spam" in html and "by an admin" in html
    assert "private admin note" not in html and "Account disabled" not in html

    colleague = app.test_client()
    login(colleague, make_user(Role.MODERATOR).email)
    assert colleague.get(card_url).status_code == 404
    assert colleague.get("/moderateur/c/99999999/client-log").status_code == 404
    for role in (Role.CLIENT, Role.ADMIN):
        other = app.test_client()
        login(other, make_user(role).email)
        assert other.get(card_url).status_code == 403
