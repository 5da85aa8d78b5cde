"""A mail's key: claimed once, sent once; given back when the send failed; taken over when its
sender died before marking it (after a while), never while it is fresh."""
from datetime import datetime, timedelta

from app.database import write_transaction
from app.extensions import db
from app.models import MailDelivery
from app.services import deliveries

NOW = datetime(2026, 12, 6, 12, 0, 0)


def claim(key="notification:1", now=NOW):
    with write_transaction():
        return deliveries.claim(key, "a@example.test", now)


def test_a_key_is_claimed_once_and_stays_taken_once_sent(ctx):
    assert claim() is True
    assert claim(now=NOW + timedelta(minutes=1)) is False       # being sent by someone else
    with write_transaction():
        deliveries.sent("notification:1", NOW)
    assert claim(now=NOW + timedelta(days=30)) is False          # sent: never again
    assert claim("notification:2") is True                       # another mail


def test_a_failed_send_gives_the_key_back(ctx):
    assert claim() is True
    with write_transaction():
        deliveries.release("notification:1")
    assert db.session.get(MailDelivery, "notification:1") is None
    assert claim(now=NOW + timedelta(seconds=5)) is True         # the retry sends


def test_a_claim_whose_sender_died_is_taken_over_after_a_while(ctx):
    assert claim() is True
    assert claim(now=NOW + timedelta(minutes=9)) is False
    assert claim(now=NOW + timedelta(minutes=11)) is True
    row = db.session.get(MailDelivery, "notification:1", populate_existing=True)
    assert row.claimed_at == NOW + timedelta(minutes=11) and row.sent_at is None
