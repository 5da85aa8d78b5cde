"""Signing up sends the activation mail, and following its link the welcome mail, through a real
RQ worker to a real SMTP server."""
import re

from app.dev import outbox
from app.models import Role
from tests.support.factories import make_user
from tests.support.http import csrf_from, login
from tests.support.waiting import wait_until


def _mail_to(sink, address, subject_not=None):
    return wait_until(lambda: next((m for m in outbox.list_mails(sink) if address in m["recipients"]
                                    and m["subject"] != subject_not), None), timeout=20)


def test_activation_then_welcome_mail_sent_by_the_worker(app, client, rq_worker, smtp_sink):
    page = client.get("/signup", headers={"Accept-Language": "en"})
    response = client.post("/signup", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "display_name": "Théo",
        "email": "theo@example.test", "password": "long-enough-1", "locale": "en"})
    assert response.status_code == 302       # answered at once: the mail is the worker's job

    activation = _mail_to(smtp_sink, "theo@example.test")
    assert activation["subject"] == "Activate your Switchboard account"
    text = outbox.get_mail(smtp_sink, activation["key"])["text"]
    link = re.search(r"http://\S+(/activate/\S+)", text).group(1)
    assert client.get(link).status_code == 302

    mail = _mail_to(smtp_sink, "theo@example.test", subject_not=activation["subject"])
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


def test_activation_mail_speaks_the_new_clients_language(app, client, rq_worker, smtp_sink):
    page = client.get("/signup")
    client.post("/signup", data={"csrf_token": csrf_from(page.get_data(as_text=True)), "display_name": "Lucía",
                                 "email": "lucia@example.test", "password": "long-enough-1", "locale": "es"})
    mail = _mail_to(smtp_sink, "lucia@example.test")
    assert outbox.get_mail(smtp_sink, mail["key"])["text"].startswith("Hola, Lucía:")   # Spanish
