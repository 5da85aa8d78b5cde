"""The account pages' limits (stored in Redis, turned on here only): activation mails sent again
per account, reset requests per address and per account, password changes per account; and the
log-in limit per account and per address with argon2 hashes."""
import pytest

from app import create_app
from app.config import TestConfig
from tests.support.factories import PASSWORD, make_user
from tests.support.http import csrf_from, login


class LimitedConfig(TestConfig):
    RATELIMIT_ENABLED = True
    RATELIMIT_ACTIVATION_RESEND = "2 per minute"
    RATELIMIT_RESET_ACCOUNT = "2 per minute"
    RATELIMIT_RESET_ADDRESS = "4 per minute"
    RATELIMIT_PASSWORD_CHANGE = "2 per minute"
    RATELIMIT_LOGIN_ACCOUNT = "3 per minute"
    RATELIMIT_LOGIN_ADDRESS = "6 per minute"


@pytest.fixture
def limited(app):
    return create_app(LimitedConfig)


def _ask_reset(limited, email):
    visitor = limited.test_client()  # a new browser each time, all behind one address
    csrf = csrf_from(visitor.get("/password/forgot").get_data(as_text=True))
    return visitor.post("/password/forgot", data={"email": email, "csrf_token": csrf},
                        headers={"Accept-Language": "en"}).status_code


def test_reset_requests_are_limited_per_account_and_per_address(limited):
    make_user(email="target@example.test")
    assert [_ask_reset(limited, "target@example.test") for _ in range(2)] == [200, 200]
    assert _ask_reset(limited, " TARGET@example.test") == 429           # the same account, however typed
    assert _ask_reset(limited, "other@example.test") == 200             # another account, same address
    assert _ask_reset(limited, "third@example.test") == 429             # the address's own limit (4)


def test_activation_mails_sent_again_are_limited_per_account(limited):
    visitor = limited.test_client()
    csrf = csrf_from(visitor.get("/signup").get_data(as_text=True))
    assert visitor.post("/signup", data={"csrf_token": csrf, "display_name": "New", "email": "new@example.test",
                                         "password": "long-enough-1", "locale": "en"}).status_code == 302
    statuses = [visitor.post("/activation/resend", data={"csrf_token": csrf},
                             headers={"Accept-Language": "en"}).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]


def test_password_changes_are_limited_per_account(limited):
    user = make_user()
    visitor = limited.test_client()
    csrf = login(visitor, user.email)
    statuses = [visitor.post("/account/password", data={"current_password": "wrong", "new_password": "fresh-secret-1",
                                                        "confirm": "fresh-secret-1", "csrf_token": csrf}).status_code
                for _ in range(3)]
    assert statuses == [422, 422, 429]


def _log_in(limited, email, password):
    visitor = limited.test_client()
    csrf = csrf_from(visitor.get("/login").get_data(as_text=True))
    return visitor.post("/login", data={"email": email, "password": password, "csrf_token": csrf}).status_code


def test_log_in_failures_lock_the_account_then_the_address(limited):
    target, colleague = make_user(), make_user()
    assert [_log_in(limited, target.email, "wrong-password") for _ in range(3)] == [401] * 3
    assert _log_in(limited, target.email, PASSWORD) == 429              # the account is locked
    assert _log_in(limited, colleague.email, PASSWORD) == 302           # not its neighbours
    assert [_log_in(limited, f"nobody{n}@example.test", "x-wrong-1") for n in range(3)] == [401] * 3
    assert _log_in(limited, colleague.email, PASSWORD) == 429           # six failures: the address is locked
