"""Sign-up with activation, password reset and the account page over HTTP: every page, the
4xx answers in the user's language, CSRF, names escaped, the language choices."""
import re

import pytest

from app.clock import utcnow
from app.extensions import db
from app.models import Role, User
from app.services import account_links
from tests.support.context import app_context
from tests.support.factories import PASSWORD, count, make_user
from tests.support.http import csrf_from, login

LINK = re.compile(r"http://\S+?(/(?:activate|password/reset)/[\w.\-]+)")


def _queued_mails() -> list[tuple]:
    """(key, to, subject, text, html) of the mails queued for the worker (none runs here)."""
    from app.jobs import get_queue

    with app_context():
        return [tuple(job.args) for job in get_queue("high").jobs]


def _link_in(mail) -> str:
    return LINK.search(mail[3]).group(1)


def _sign_up(client, email="new@example.test", name="Newcomer", locale="en", time_zone="Europe/Paris",
             password="long-enough-1", **headers):
    csrf = csrf_from(client.get("/signup", headers=headers).get_data(as_text=True))
    return client.post("/signup", data={"csrf_token": csrf, "display_name": name, "email": email,
                                        "password": password, "locale": locale, "time_zone": time_zone},
                       headers=headers)


def _stored(email) -> User:
    with app_context():
        return User.query.filter_by(email=email).one()


# -- sign-up ---------------------------------------------------------------------------------

def test_the_language_field_starts_at_the_pages_language(client):
    assert '<option selected value="de">' in client.get("/signup", headers={"Accept-Language": "de"}).get_data(
        as_text=True)
    client.set_cookie("sb_lang", "es")
    page = client.get("/signup", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<option selected value="es">' in page                       # the cookie wins over the browser
    assert 'data-browser-time-zone' in page and "js/time-zone.js" in page and "<script>" not in page


def test_a_sign_up_waits_for_activation_then_the_link_logs_in_once(client):
    response = _sign_up(client, time_zone="America/Montreal")
    assert response.status_code == 302 and response.headers["Location"] == "/activation"
    user = _stored("new@example.test")
    assert user.email_confirmed_at is None and user.time_zone == "America/Montreal" and user.locale == "en"
    page = client.get("/activation").get_data(as_text=True)
    assert "new@example.test" in page and "Send the activation link again" in page
    [mail] = _queued_mails()
    assert mail[1] == "new@example.test" and mail[2] == "Activate your Switchboard account"
    assert client.get("/profiles").status_code == 302                   # not logged in yet

    activated = client.get(_link_in(mail))
    assert activated.status_code == 302 and activated.headers["Location"] == "/profiles"
    assert client.get("/profiles").status_code == 200                   # logged in
    assert _stored("new@example.test").email_confirmed_at is not None
    assert [m[2] for m in _queued_mails()][-1] == "Welcome to Switchboard"

    again = client.application.test_client().get(_link_in(mail), headers={"Accept-Language": "en"})
    assert again.status_code == 302 and again.headers["Location"] == "/login"
    assert len([m for m in _queued_mails() if m[2] == "Welcome to Switchboard"]) == 1   # welcomed once


def test_an_unknown_time_zone_from_the_browser_is_the_display_zone(client):
    _sign_up(client, time_zone="Europe/Atlantis")
    assert _stored("new@example.test").time_zone == "Europe/Paris"


def test_logging_in_unconfirmed_says_so_with_a_resend_link(client):
    _sign_up(client)
    visitor = client.application.test_client()
    csrf = csrf_from(visitor.get("/login").get_data(as_text=True))
    response = visitor.post("/login", data={"email": "new@example.test", "password": "long-enough-1",
                                            "csrf_token": csrf}, headers={"Accept-Language": "en"})
    assert response.status_code == 403
    assert "not activated yet" in response.get_data(as_text=True) and 'href="/activation"' in response.get_data(
        as_text=True)
    assert visitor.get("/profiles").status_code == 302
    resent = visitor.post("/activation/resend", data={"csrf_token": csrf})
    assert resent.status_code == 302 and len(_queued_mails()) == 2      # the first mail, and this one


def test_without_activation_a_sign_up_logs_in_and_is_welcomed(app, client):
    app.config["ACCOUNT_ACTIVATION"] = False
    try:
        response = _sign_up(client)
    finally:
        app.config["ACCOUNT_ACTIVATION"] = True
    assert response.status_code == 302 and response.headers["Location"] == "/profiles"
    assert [m[2] for m in _queued_mails()] == ["Welcome to Switchboard"]


@pytest.mark.parametrize("path", ["/activate/forged.token.here", "/password/reset/forged.token.here"])
def test_a_bad_link_is_a_clear_4xx_in_the_users_language(client, path):
    page = client.get(path, headers={"Accept-Language": "de"})
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and '<html lang="de">' in html and "data-link-invalid" in html
    again = "/password/forgot" if "reset" in path else "/login"
    assert f'href="{again}"' in html


def test_a_common_password_is_refused_at_sign_up(client):
    response = _sign_up(client, password="iloveyou1", **{"Accept-Language": "en"})
    assert response.status_code == 422 and "most common" in response.get_data(as_text=True)
    assert count(User, email="new@example.test") == 0


# -- password reset --------------------------------------------------------------------------

def _ask_reset(client, email, **headers):
    csrf = csrf_from(client.get("/password/forgot").get_data(as_text=True))
    return client.post("/password/forgot", data={"email": email, "csrf_token": csrf}, headers=headers)


def test_asking_a_reset_answers_the_same_for_any_address(client):
    make_user(email="known@example.test")
    known = _ask_reset(client, "known@example.test", **{"Accept-Language": "en"})
    unknown = _ask_reset(client, "unknown@example.test", **{"Accept-Language": "en"})
    assert known.status_code == unknown.status_code == 200
    # The address typed and the CSRF token (signed with the second it was made) may differ.
    def strip(response):
        html = response.get_data(as_text=True).replace("unknown@example.test", "X").replace("known@example.test", "X")
        return re.sub(r'value="[^"]+"|"X-CSRFToken": "[^"]+"', "", html)
    assert strip(known) == strip(unknown)
    assert [m[1] for m in _queued_mails()] == ["known@example.test"]    # the unknown address got nothing


def test_a_reset_link_sets_the_password_ends_the_sessions_and_dies(client):
    user = make_user(email="forgot@example.test")
    elsewhere = client.application.test_client()
    login(elsewhere, user.email)
    _ask_reset(client, "forgot@example.test")
    path = _link_in(_queued_mails()[0])
    form = client.get(path)
    assert form.status_code == 200 and 'name="new_password"' in form.get_data(as_text=True)
    csrf = csrf_from(form.get_data(as_text=True))
    differ = client.post(path, data={"new_password": "a-brand-new-secret", "confirm": "another",
                                     "csrf_token": csrf}, headers={"Accept-Language": "en"})
    assert differ.status_code == 422 and "The two passwords differ." in differ.get_data(as_text=True)
    common = client.post(path, data={"new_password": "password1", "confirm": "password1", "csrf_token": csrf},
                         headers={"Accept-Language": "en"})
    assert common.status_code == 422 and "most common" in common.get_data(as_text=True)
    done = client.post(path, data={"new_password": "a-brand-new-secret", "confirm": "a-brand-new-secret",
                                   "csrf_token": csrf})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert elsewhere.get("/profiles").status_code == 302                 # the other session ended
    reused = client.get(path, headers={"Accept-Language": "en"})
    assert reused.status_code == 400 and "invalid or has expired" in reused.get_data(as_text=True)
    reused_post = client.post(path, data={"new_password": "third-secret-9", "confirm": "third-secret-9",
                                          "csrf_token": csrf})
    assert reused_post.status_code == 400
    fresh = client.application.test_client()
    assert fresh.post("/login", data={"email": user.email, "password": "a-brand-new-secret",
                                      "csrf_token": csrf_from(fresh.get("/login").get_data(as_text=True))}
                      ).status_code == 302


def test_reset_forms_refuse_a_missing_csrf_token(client):
    make_user(email="forgot@example.test")
    assert client.post("/password/forgot", data={"email": "forgot@example.test"}).status_code == 400
    assert _queued_mails() == []
    with app_context():
        user = User.query.filter_by(email="forgot@example.test").one()
        token = account_links.make_token(user, account_links.PASSWORD_RESET, "test-secret-key", utcnow())
    response = client.post(f"/password/reset/{token}", data={"new_password": "a-brand-new-secret",
                                                             "confirm": "a-brand-new-secret"})
    assert response.status_code == 400
    assert client.get(f"/password/reset/{token}").status_code == 200     # still unused


# -- the account page ------------------------------------------------------------------------

@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_an_account_page_linked_from_the_top_bar(client, role):
    user = make_user(role, display_name="<b>Bold</b> & co")
    login(client, user.email)
    page = client.get("/account").get_data(as_text=True)
    assert 'class="whoami" href="/account"' in page
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in page and "<b>Bold</b>" not in page
    assert 'name="time_zone"' in page and 'name="mailed"' in page


def test_the_account_page_needs_a_log_in(client):
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_changing_the_language_on_the_account_page_changes_the_accounts_locale(client):
    user = make_user(locale="en")
    csrf = login(client, user.email)
    response = client.post("/account/settings", data={"display_name": "Renamed", "locale": "de",
                                                      "time_zone": "Europe/Berlin", "csrf_token": csrf})
    assert response.status_code == 302
    stored = _stored(user.email)
    assert (stored.display_name, stored.locale, stored.time_zone) == ("Renamed", "de", "Europe/Berlin")
    assert '<html lang="de">' in client.get("/account").get_data(as_text=True)
    bad = client.post("/account/settings", data={"display_name": "Renamed", "locale": "de",
                                                 "time_zone": "Europe/Atlantis", "csrf_token": csrf})
    assert bad.status_code == 422 and _stored(user.email).time_zone == "Europe/Berlin"
    assert client.post("/account/settings", data={"display_name": "Forged", "locale": "fr",
                                                  "time_zone": "UTC"}).status_code == 400   # no CSRF token
    assert _stored(user.email).display_name == "Renamed"


def test_the_language_menu_changes_the_accounts_locale(client):
    user = make_user(locale="en")
    csrf = login(client, user.email)
    assert client.post("/lang/es", data={"csrf_token": csrf, "next": "/account"}).status_code == 302
    assert _stored(user.email).locale == "es"
    assert '<html lang="es">' in client.get("/account").get_data(as_text=True)


def test_changing_the_password_needs_the_current_one_and_ends_the_other_sessions(client):
    user = make_user()
    csrf = login(client, user.email)
    elsewhere = client.application.test_client()
    login(elsewhere, user.email)
    wrong = client.post("/account/password", data={"current_password": "not-mine", "new_password": "fresh-secret-1",
                                                   "confirm": "fresh-secret-1", "csrf_token": csrf},
                        headers={"Accept-Language": "en"})
    assert wrong.status_code == 422 and "The current password is wrong." in wrong.get_data(as_text=True)
    common = client.post("/account/password", data={"current_password": PASSWORD, "new_password": "qwerty123",
                                                    "confirm": "qwerty123", "csrf_token": csrf})
    assert common.status_code == 422
    done = client.post("/account/password", data={"current_password": PASSWORD, "new_password": "fresh-secret-1",
                                                  "confirm": "fresh-secret-1", "csrf_token": csrf})
    assert done.status_code == 302
    assert client.get("/account").status_code == 200                    # this session goes on
    assert elsewhere.get("/account").status_code == 302                 # the other one ended


def test_mail_preferences_keep_the_unchecked_kinds_in_the_app_only(client):
    from app.services import notifications

    user = make_user()
    csrf = login(client, user.email)
    with app_context():
        kinds = [kind for kind, _ in notifications.mail_choices(db.session.get(User, user.id))]
    assert client.post("/account/mail", data={"mailed": kinds[:1], "csrf_token": csrf}).status_code == 302
    with app_context():
        choices = dict(notifications.mail_choices(db.session.get(User, user.id)))
    assert choices == {kind: kind == kinds[0] for kind in kinds}
    unknown = client.post("/account/mail", data={"mailed": ["nonsense"], "csrf_token": csrf},
                          headers={"Accept-Language": "en"})
    assert unknown.status_code == 422


# -- the outbox's HTML preview ---------------------------------------------------------------

def test_the_html_preview_has_its_own_restrictive_csp(client, tmp_path):
    from email.message import EmailMessage
    import mailbox

    box = mailbox.Maildir(str(tmp_path / "outbox"), create=True)
    message = EmailMessage()
    message["Subject"], message["To"] = "Styled", "x@example.test"
    message.set_content("plain")
    message.add_alternative('<p style="color: red">styled</p>', subtype="html")
    key = box.add(message)
    client.application.config["MAIL_OUTBOX_DIR_SAVED"] = client.application.config["MAIL_OUTBOX_DIR"]
    client.application.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "outbox")
    try:
        login(client, make_user(Role.ADMIN).email)
        page = client.get(f"/admin/outbox/{key}")
        assert f'<iframe class="mail-html" sandbox src="/admin/outbox/{key}/html"' in page.get_data(as_text=True)
        assert "srcdoc" not in page.get_data(as_text=True)
        preview = client.get(f"/admin/outbox/{key}/html")
        csp = preview.headers["Content-Security-Policy"]
        assert preview.status_code == 200 and 'style="color: red"' in preview.get_data(as_text=True)
        assert "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp and "sandbox" in csp
        assert "script-src" not in csp and preview.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert "unsafe-inline" not in page.headers["Content-Security-Policy"]   # the page's own stays strict
        assert client.get("/admin/outbox/nope/html").status_code == 404
    finally:
        client.application.config["MAIL_OUTBOX_DIR"] = client.application.config.pop("MAIL_OUTBOX_DIR_SAVED")


def test_only_admins_see_the_preview(client):
    login(client, make_user().email)
    assert client.get("/admin/outbox/anything/html").status_code == 403


def test_role_changes_have_labels_in_the_moderation_log(ctx):
    from app.web.templating import MODERATION_ACTION_LABELS

    from app.models import MODERATION_ACTIONS

    assert {"role_promoted", "role_demoted"} <= set(MODERATION_ACTIONS) <= set(MODERATION_ACTION_LABELS)
