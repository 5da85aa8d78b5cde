"""The local mail sink and the outbox reader, end to end over real SMTP on 127.0.0.1."""
from __future__ import annotations

import smtplib
import socket
from datetime import datetime
from email.message import EmailMessage

import pytest

from app.dev import outbox
from app.dev.mailsink import start_sink

SUBJECT = "Bienvenue à Switchboard — ваш доступ ✓"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sink(tmp_path):
    port = _free_port()
    outbox_dir = tmp_path / "outbox"
    controller = start_sink(outbox_dir, host="127.0.0.1", port=port)
    yield outbox_dir, port
    controller.stop()


def _send(port: int, subject: str, to: str, bcc: str | None = None, html: str | None = None) -> None:
    msg = EmailMessage()
    msg["From"] = "Switchboard <noreply@switchboard.local>"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("Hello Zoë,\nyour invitation is ready.\n")
    if html:
        msg.add_alternative(html, subtype="html")
    recipients = [to] + ([bcc] if bcc else [])
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(msg, to_addrs=recipients)


@pytest.mark.slow
def test_mail_round_trip(sink):
    outbox_dir, port = sink
    _send(port, "first", "client1@switchboard.local")
    _send(port, SUBJECT, "client2@switchboard.local", bcc="admin@switchboard.local",
          html="<p>Hello <b>Zoë</b>, your invitation is ready.</p>")

    mails = outbox.list_mails(outbox_dir)
    assert [m["subject"] for m in mails] == [SUBJECT, "first"]  # newest first
    newest = mails[0]
    assert newest["sender"] == "Switchboard <noreply@switchboard.local>"
    assert newest["recipients"] == ["client2@switchboard.local", "admin@switchboard.local"]
    assert isinstance(newest["date"], datetime)
    assert outbox.list_mails(outbox_dir, limit=1) == mails[:1]

    mail = outbox.get_mail(outbox_dir, newest["key"])
    assert mail["subject"] == SUBJECT
    assert mail["text"] == "Hello Zoë,\nyour invitation is ready.\n"
    assert "<b>Zoë</b>" in mail["html"]

    plain = outbox.get_mail(outbox_dir, mails[1]["key"])
    assert plain["html"] is None
    assert plain["recipients"] == ["client1@switchboard.local"]


@pytest.mark.slow
@pytest.mark.parametrize("key", ["", "..", "../new", "a/b", "/etc/passwd", "..%2f", "nope.M1P1Q1.host", None])
def test_bad_key_is_none(sink, key):
    outbox_dir, port = sink
    _send(port, "x", "client1@switchboard.local")
    assert outbox.get_mail(outbox_dir, key) is None


def test_missing_outbox_is_empty(tmp_path):
    assert outbox.list_mails(tmp_path / "nothing") == []
    assert outbox.get_mail(tmp_path / "nothing", "1700000000.M1P1Q1.host") is None
