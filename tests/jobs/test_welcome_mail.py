"""Signing up sends the welcome mail through a real RQ worker to a real SMTP server."""
from app.dev import outbox
from app.models import Role
from tests.support.factories import make_user
from tests.support.http import csrf_from, login
from tests.support.waiting import wait_until


def test_signup_enqueues_welcome_mail_sent_by_the_worker(app, client, rq_worker, smtp_sink):
    page = client.get("/signup", headers={"Accept-Language": "en"})
    response = client.post("/signup", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "display_name": "Théo",
        "email": "theo@example.test", "password": "long-enough-1", "locale": "en"})
    assert response.status_code == 302       # answered at once: the mail is the worker's job

    mail = wait_until(lambda: next((m for m in outbox.list_mails(smtp_sink) if "theo@example.test" in m["recipients"]),
                                   None), timeout=20)
    assert mail["subject"] == "Welcome to Switchboard"
    full = outbox.get_mail(smtp_sink, mail["key"])
    assert "Hello Théo," in full["text"] and "/login" in full["text"]
    assert full["html"] and "Log in to Switchboard" in full["html"]

    admin_client = app.test_client()
    login(admin_client, make_user(Role.ADMIN).email)
    listing = admin_client.get("/admin/outbox").get_data(as_text=True)
    assert "Welcome to Switchboard" in listing and "theo@example.test" in listing
    detail = admin_client.get(f"/admin/outbox/{mail['key']}").get_data(as_text=True)
    assert "Hello Théo," in detail
    assert admin_client.get("/admin/outbox/..%2F..%2Fetc").status_code == 404


def test_welcome_mail_speaks_the_new_clients_language(app, client, rq_worker, smtp_sink):
    page = client.get("/signup")
    client.post("/signup", data={"csrf_token": csrf_from(page.get_data(as_text=True)), "display_name": "Lucía",
                                 "email": "lucia@example.test", "password": "long-enough-1", "locale": "es"})
    mail = wait_until(lambda: next((m for m in outbox.list_mails(smtp_sink)
                                    if "lucia@example.test" in m["recipients"]), None), timeout=20)
    assert mail["subject"] != "Welcome to Switchboard"     # translated (Spanish)
    assert "Lucía" in outbox.get_mail(smtp_sink, mail["key"])["text"]
