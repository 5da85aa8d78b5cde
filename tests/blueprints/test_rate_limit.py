"""Log-in and sign-up limits (stored in Redis): failed log-ins per account and, higher, per
address; a right password still works for the others behind one address; sign-ups per address."""
import pytest

from app import create_app
from app.config import TestConfig
from tests.support.factories import PASSWORD, make_user
from tests.support.http import csrf_from


class LimitedConfig(TestConfig):
    RATELIMIT_ENABLED = True
    RATELIMIT_LOGIN_ACCOUNT = "3 per minute"
    RATELIMIT_LOGIN_ADDRESS = "6 per minute"
    RATELIMIT_SIGNUP = "2 per minute"


@pytest.fixture
def limited(app):
    return create_app(LimitedConfig)


def _attempt(limited, email, password):
    client = limited.test_client()  # a new browser each time, all behind one address
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf},
                       headers={"Accept-Language": "en"})


def test_an_account_locked_by_failures_does_not_lock_the_others_behind_the_address(limited):
    target, colleague = make_user(), make_user()
    statuses = [_attempt(limited, target.email, "wrong-password").status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    locked = _attempt(limited, f"  {target.email.upper()} ", PASSWORD)  # the same account, however typed
    assert locked.status_code == 429 and "Too many attempts" in locked.get_data(as_text=True)
    assert _attempt(limited, colleague.email, PASSWORD).status_code == 302  # same address, other account


def test_successful_logins_do_not_count(limited):
    user = make_user()
    assert [_attempt(limited, user.email, PASSWORD).status_code for _ in range(5)] == [302] * 5
    assert _attempt(limited, user.email, "wrong-password").status_code == 401


def test_an_address_over_its_own_limit_is_stopped_for_every_account(limited):
    user = make_user()
    statuses = [_attempt(limited, f"nobody{n}@example.test", "wrong-password").status_code for n in range(6)]
    assert statuses == [401] * 6  # six accounts, each under its own limit
    assert _attempt(limited, user.email, PASSWORD).status_code == 429


def test_signups_are_limited_per_address(limited):
    statuses = []
    for n in range(3):
        client = limited.test_client()
        csrf = csrf_from(client.get("/signup").get_data(as_text=True))
        statuses.append(client.post("/signup", data={"display_name": f"New {n}", "email": f"new{n}@example.test",
                                                      "password": "long-enough-1", "locale": "en",
                                                      "csrf_token": csrf}).status_code)
    assert statuses == [302, 302, 429]
