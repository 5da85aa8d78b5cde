"""Mails sent once: a key per mail (``"notification:12"``, ``"ticket-event:7:3"``).

The key is claimed in a short transaction of its own, the mail goes out with no transaction open
(SQLite's write lock is never held while an SMTP server answers), then the key is marked sent.
A job run twice, or a retry after the mail went, finds the key sent or claimed and sends nothing.
A send that fails gives the key back, so the retry sends. A claim whose sender died before
marking it (a killed worker) is taken over once ``stale_after`` has passed (the retry that finds
it still fresh fails, and runs again later): that mail may then go twice, never zero times.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import MailDelivery


def claim(key: str, recipient: str, now: datetime, stale_after: timedelta = timedelta(minutes=10)) -> bool:
    """Take ``key`` for sending (in the current unit of work, which the caller commits at once);
    False when it was sent, or another sender holds a claim younger than ``stale_after``."""
    try:
        with db.session.begin_nested():
            db.session.add(MailDelivery(key=key, recipient=recipient, claimed_at=now))
        return True
    except IntegrityError:
        pass
    taken = db.session.execute(update(MailDelivery).where(
        MailDelivery.key == key, MailDelivery.sent_at.is_(None), MailDelivery.claimed_at < now - stale_after)
        .values(claimed_at=now).execution_options(synchronize_session=False)).rowcount
    return taken == 1


def was_sent(key: str) -> bool:
    return db.session.scalar(select(MailDelivery.sent_at).where(MailDelivery.key == key)) is not None


def sent(key: str, now: datetime) -> None:
    """The mail went: the key stays taken for good."""
    db.session.execute(update(MailDelivery).where(MailDelivery.key == key).values(sent_at=now)
                       .execution_options(synchronize_session=False))


def release(key: str) -> None:
    """The mail did not go: the key is free again for the retry."""
    db.session.execute(delete(MailDelivery).where(MailDelivery.key == key, MailDelivery.sent_at.is_(None))
                       .execution_options(synchronize_session=False))
