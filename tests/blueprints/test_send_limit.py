"""A client may send so many messages per window (``RATELIMIT_SEND``, counted in Redis per
account): one more is a 429 whose message, in the client's language, goes where the composer shows
errors; it is not stored, and other clients are not slowed."""
import pytest

from app import create_app
from app.config import TestConfig
from app.models import Message, Role
from tests.support.factories import count, make_profile, make_user
from tests.support.http import login, send


class LimitedConfig(TestConfig):
    RATELIMIT_ENABLED = True
    RATELIMIT_SEND = "3 per minute"


@pytest.fixture
def limited(app):
    return create_app(LimitedConfig)


def test_a_client_over_the_limit_is_told_in_the_composer_and_nothing_is_stored(limited):
    make_user(Role.MODERATOR, online=True)
    profile = make_profile()
    fast, other = make_user(locale="fr"), make_user(locale="en")
    fast_client, other_client = limited.test_client(), limited.test_client()
    fast_csrf, other_csrf = login(fast_client, fast.email), login(other_client, other.email)

    assert [send(fast_client, fast_csrf, profile.id, f"message {n}").status_code for n in range(3)] == [200] * 3
    refused = send(fast_client, fast_csrf, profile.id, "one too many")

    assert refused.status_code == 429
    assert refused.headers["HX-Retarget"] == "#send-error"
    assert "Vous envoyez des messages trop vite" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) >= 1
    assert count(Message) == 3
    assert send(other_client, other_csrf, profile.id, "hello").status_code == 200  # counted per account
    assert count(Message) == 4
