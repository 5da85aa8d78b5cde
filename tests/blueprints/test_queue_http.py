from app.models import Role
from tests.support.factories import make_user
from tests.support.http import login


def test_queue_status_leave_and_rejoin(app):
    moderator = make_user(Role.MODERATOR, online=True)
    client = app.test_client()
    csrf = login(client, moderator.email)
    headers = {"X-CSRFToken": csrf, "HX-Request": "true"}
    status = client.get("/moderateur/queue/status").get_data(as_text=True)
    assert "In the queue: 1 of 1" in status
    left = client.post("/moderateur/queue/leave", headers=headers).get_data(as_text=True)
    assert "On a break" in left
    back = client.post("/moderateur/queue/join", headers=headers).get_data(as_text=True)
    assert "In the queue: 1 of 1" in back
    assert client.post("/moderateur/queue/leave").status_code == 400     # no CSRF token
    other = app.test_client()
    login(other, make_user().email)
    assert other.get("/moderateur/queue/status").status_code == 403
