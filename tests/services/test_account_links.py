"""Activation and reset links, password rules and hashes, without HTTP: tokens forged, expired,
reused or made for the other purpose are refused; a reset for an unknown address finds nobody;
a reset ends every session; common passwords are refused; old hashes are replaced at log-in."""
from datetime import timedelta

import pytest
from werkzeug.security import generate_password_hash

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Role, User
from app.services import account_links, passwords, users
from app.services.errors import ValidationError
from tests.support.factories import PASSWORD, make_user


@pytest.fixture(autouse=True)
def english(ctx):
    """Refusals read in English (the request's default language is French)."""
    from flask_babel import force_locale

    with force_locale("en"):
        yield

SECRET = "test-secret-key"
DAY = 24 * 3600


def _fresh(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def _signed_up(ctx, email="new@example.test", activation=True, now=None):
    with write_transaction():
        user = account_links.sign_up(email=email, password="long-enough-1", display_name="New", locale="en",
                                     time_zone="Europe/Paris", now=now or utcnow(), activation=activation)
    return user


def test_a_sign_up_waits_for_its_link_and_the_link_confirms_it_once(ctx):
    now = utcnow()
    user = _signed_up(ctx, now=now)
    assert user.email_confirmed_at is None and user.time_zone == "Europe/Paris"
    token = account_links.make_token(user, account_links.ACTIVATION, SECRET, now)
    with write_transaction():
        first = account_links.confirm_email(token, SECRET, DAY, now + timedelta(hours=1))
    assert not first.already and _fresh(user.id).email_confirmed_at == now + timedelta(hours=1)
    with write_transaction():
        second = account_links.confirm_email(token, SECRET, DAY, now + timedelta(hours=2))
    assert second.already and _fresh(user.id).email_confirmed_at == now + timedelta(hours=1)


def test_without_activation_a_sign_up_is_confirmed_and_an_unknown_time_zone_is_the_display_zone(ctx):
    with write_transaction():
        user = account_links.sign_up(email="tz@example.test", password="long-enough-1", display_name="Tz",
                                     locale="en", time_zone="Mars/Olympus", now=utcnow(), activation=False)
    assert user.email_confirmed_at is not None and user.time_zone == ctx.config["BABEL_DEFAULT_TIMEZONE"] == "Europe/Paris"


def test_accounts_made_by_admins_the_cli_and_the_demo_are_confirmed(ctx):
    assert _fresh(make_user(Role.MODERATOR).id).email_confirmed_at is not None


@pytest.mark.parametrize("purpose", [account_links.ACTIVATION, account_links.PASSWORD_RESET])
def test_forged_expired_and_other_purpose_tokens_are_refused(ctx, purpose):
    now = utcnow()
    user = _signed_up(ctx, now=now)
    token = account_links.make_token(user, purpose, SECRET, now)
    check = account_links.confirm_email if purpose == account_links.ACTIVATION else account_links.check_reset_token
    check_other = account_links.check_reset_token if purpose == account_links.ACTIVATION else account_links.confirm_email
    forged = account_links.make_token(user, purpose, "another-secret", now)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (forged, tampered, "not-a-token", token + "x"):
        with pytest.raises(account_links.InvalidLink):
            check(bad, SECRET, 3600, now)
    with pytest.raises(account_links.InvalidLink):  # expired: one second past its age
        check(token, SECRET, 3600, now + timedelta(seconds=3601))
    with pytest.raises(account_links.InvalidLink):  # the other purpose's salt
        check_other(token, SECRET, 3600, now)
    assert check(token, SECRET, 3600, now + timedelta(seconds=3599))  # still good just before


def test_a_reset_link_sets_the_password_once_and_ends_every_session(ctx):
    now = utcnow()
    user = make_user(email="forgot@example.test")
    version = user.session_version
    token = account_links.make_token(user, account_links.PASSWORD_RESET, SECRET, now)
    with write_transaction():
        account_links.reset_password(token, "a-brand-new-secret", SECRET, 3600, now)
    fresh = _fresh(user.id)
    assert fresh.session_version == version + 1  # every session of the account ended
    assert users.authenticate("forgot@example.test", "a-brand-new-secret").id == user.id
    assert users.authenticate("forgot@example.test", PASSWORD) is None
    with pytest.raises(account_links.InvalidLink):  # used: the password it was made for is gone
        with write_transaction():
            account_links.reset_password(token, "yet-another-secret", SECRET, 3600, now)
    assert users.authenticate("forgot@example.test", "a-brand-new-secret") is not None


def test_a_reset_link_dies_when_the_password_changes_another_way(ctx):
    now = utcnow()
    user = make_user()
    token = account_links.make_token(user, account_links.PASSWORD_RESET, SECRET, now)
    with write_transaction():
        users.set_password(user.id, "set-by-an-admin-7", None, now)
    with pytest.raises(account_links.InvalidLink):
        account_links.check_reset_token(token, SECRET, 3600, now)


def test_a_reset_for_an_unknown_or_disabled_address_finds_nobody(ctx):
    user = make_user(email="known@example.test")
    assert account_links.account_for_reset(" KNOWN@example.test ").id == user.id
    assert account_links.account_for_reset("nobody@example.test") is None
    assert account_links.account_for_reset("not an address") is None
    with write_transaction():
        users.set_active(user.id, False, utcnow())
    assert account_links.account_for_reset("known@example.test") is None


@pytest.mark.parametrize("password", ["password", "iloveyou", "Password1", "p@ssw0rd", "qwertyuiop"])
def test_common_passwords_are_refused_everywhere_a_password_is_chosen(ctx, password):
    now = utcnow()
    user = make_user(email="careful@example.test")
    with pytest.raises(ValidationError, match="most common"):
        users.create_user(email="other@example.test", password=password, role=Role.CLIENT, display_name="Other")
    with pytest.raises(ValidationError, match="most common"):
        users.set_password(user.id, password, None, now)
    with pytest.raises(ValidationError, match="most common"):
        users.change_own_password(db.session.get(User, user.id), PASSWORD, password, now)
    token = account_links.make_token(db.session.get(User, user.id), account_links.PASSWORD_RESET, SECRET, now)
    with pytest.raises(ValidationError, match="most common"):
        account_links.reset_password(token, password, SECRET, 3600, now)


def test_a_password_that_only_contains_a_common_one_is_accepted(ctx):
    assert not passwords.is_common("demo-password") and not passwords.is_common("long-enough-1")
    assert passwords.is_common("123456789")


def test_a_password_equal_to_the_email_or_the_name_is_refused(ctx):
    with pytest.raises(ValidationError, match="e-mail address or your name"):
        users.create_user(email="same@example.test", password="Same@Example.test", role=Role.CLIENT,
                          display_name="Someone")
    with pytest.raises(ValidationError, match="e-mail address or your name"):
        users.create_user(email="x@example.test", password="Bartholomew", role=Role.CLIENT,
                          display_name="bartholomew")


def test_changing_ones_password_needs_the_current_one(ctx):
    user = make_user()
    with pytest.raises(ValidationError, match="current password is wrong"):
        users.change_own_password(db.session.get(User, user.id), "not-my-password", "a-brand-new-secret", utcnow())


@pytest.mark.parametrize("old_hash", [
    lambda pw: generate_password_hash(pw, "scrypt:1024:8:1"),
    lambda pw: generate_password_hash(pw, "pbkdf2:sha256:1000"),
    lambda pw: "$argon2id$v=19$m=16,t=2,p=1$" + passwords._argon2({"ARGON2_TIME_COST": 2, "ARGON2_MEMORY_COST_KIB": 16,
                                                                     "ARGON2_PARALLELISM": 1}).hash(pw).split("$", 4)[4],
], ids=["werkzeug-scrypt", "werkzeug-pbkdf2", "argon2-other-cost"])
def test_an_older_hash_still_verifies_and_is_replaced_by_argon2_at_log_in(ctx, old_hash, caplog):
    user = make_user(email="old@example.test")
    with write_transaction():
        db.session.get(User, user.id).password_hash = old_hash(PASSWORD)
    assert users.authenticate("old@example.test", "wrong-password") is None
    assert _fresh(user.id).password_hash == db.session.get(User, user.id).password_hash  # a failure changes nothing
    caplog.set_level("INFO", logger="app.services.users")
    assert users.authenticate("old@example.test", PASSWORD).id == user.id
    stored = _fresh(user.id).password_hash
    assert stored.startswith("$argon2id$") and not passwords.needs_rehash(stored, ctx.config)
    assert f"password hash of user {user.id} replaced" in caplog.text
    assert users.authenticate("old@example.test", PASSWORD).id == user.id  # and verifies again


def test_an_unknown_address_is_verified_against_an_argon2_hash(ctx):
    before = users.dummy_verifications
    assert users.authenticate("nobody@example.test", "whatever-1") is None
    assert users.dummy_verifications == before + 1 and users.dummy_hash().startswith("$argon2id$")
