"""``/metrics``: refused without the token (or from an address not allowed); counts requests by
route, client messages, assignment decisions and the time to publish a message's pushes; reads
the queues and rounds at each scrape."""
import re

from app.models import Role
from tests.support.factories import make_profile, make_user
from tests.support.http import login, send


def value(text: str, name: str, **labels) -> float:
    """One sample of the exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" ([0-9.e+-]+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def scrape(app) -> str:
    response = app.test_client().get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def test_a_message_is_counted_with_its_request_its_decision_and_its_push(app):
    before = scrape(app)
    make_user(Role.MODERATOR, online=True)
    profile = make_profile()
    client = app.test_client()
    csrf = login(client, make_user().email)
    assert send(client, csrf, profile.id, "hello").status_code == 200
    after = scrape(app)
    assert value(after, "switchboard_client_messages_total") == value(before, "switchboard_client_messages_total") + 1
    assert value(after, "switchboard_assignment_decisions_total", kind="assigned") >= 1
    assert value(after, "switchboard_push_publish_seconds_count") == value(before, "switchboard_push_publish_seconds_count") + 1
    assert 'route="/login"' in after and "switchboard_queue_depth{queue=\"high\"}" in after
    assert "switchboard_rounds_last_day 0.0" in after


def test_only_the_token_or_an_allowed_address_reads_the_metrics(app):
    elsewhere = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert elsewhere.status_code == 403 and "switchboard_" not in elsewhere.get_data(as_text=True)
    app.config["METRICS_TOKEN"] = "s3cret-token"
    try:
        client = app.test_client()
        assert client.get("/metrics").status_code == 401  # even from this host
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        good = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"},
                          environ_base={"REMOTE_ADDR": "203.0.113.9"})
        assert good.status_code == 200 and "switchboard_sockets_open" in good.get_data(as_text=True)
    finally:
        app.config["METRICS_TOKEN"] = ""


def test_behind_a_trusted_proxy_the_clients_address_is_the_forwarded_one(app):
    from app import create_app
    from app.config import TestConfig

    class BehindNginx(TestConfig):
        TRUSTED_PROXIES = 1

    proxied = create_app(BehindNginx).test_client()
    client = {"X-Forwarded-For": "203.0.113.9"}
    assert proxied.get("/metrics", headers=client).status_code == 403  # the client's address, not nginx's
    assert proxied.get("/metrics").status_code == 200  # from this host, with no proxy in between
    assert app.test_client().get("/metrics", headers=client).status_code == 200  # not trusted: the header is ignored
