"""Login attempts are rate limited per address (limits stored in Redis)."""
from app import create_app
from app.config import TestConfig
from tests.support.factories import make_user
from tests.support.http import csrf_from


class LimitedConfig(TestConfig):
    RATELIMIT_ENABLED = True
    RATELIMIT_LOGIN = "3 per minute"


def test_fourth_failed_login_in_a_minute_gets_429(app):
    limited = create_app(LimitedConfig)
    user = make_user()
    client = limited.test_client()
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    statuses = [client.post("/login", data={"email": user.email, "password": "wrong-password", "csrf_token": csrf},
                            headers={"Accept-Language": "en"}).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    page = client.post("/login", data={"email": user.email, "password": "x", "csrf_token": csrf},
                       headers={"Accept-Language": "en"})
    assert page.status_code == 429 and "Too many attempts" in page.get_data(as_text=True)
