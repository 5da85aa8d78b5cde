"""What happened in a unit of work, for what must follow its commit (the pushes to open pages).

Services record events as they write (``record``). When the write transaction commits,
``database.write_transaction`` hands them to the handler subscribed here (the realtime dispatcher,
``realtime.push.dispatch``); when it rolls back they are dropped, so nothing is pushed for work
that was not stored. Recorded events live in the session, one list per unit of work.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.orm import Session

from ..database import after_commit
from ..extensions import db

log = logging.getLogger(__name__)
_KEY = "switchboard_events"


@dataclass(frozen=True)
class MessagePosted:
    """A new message (ORM row or snapshot), with its conversation, profile, holder and client; for
    a reply, the client's unread messages over all their conversations (their badge)."""
    message: Any
    client_unread_total: int | None = None


@dataclass(frozen=True)
class ReadMoved:
    """A side's read position moved in a conversation: ``side`` is who read ("client" or
    "profile"); the other side's receipt and the reader's unread counts follow."""
    conversation_id: int
    side: str


@dataclass(frozen=True)
class PhotoProcessed:
    """A photo's sizes were made (or it could not be read): both sides' placeholders are replaced."""
    photo_id: str


@dataclass(frozen=True)
class ReactionsChanged:
    """A message's reactions changed: both sides see the new counts."""
    message_id: int


@dataclass(frozen=True)
class ExportChanged:
    """An export was taken, got further, is ready, failed or expired: its owner's pages show it."""
    export_id: str


@dataclass(frozen=True)
class WorkAssigned:
    """A conversation nobody held went to a moderator."""
    conversation_id: int
    moderator_id: int


@dataclass(frozen=True)
class WorkMoved:
    """A profile's conversations moved from one moderator to another, for ``reason``."""
    from_id: int
    to_id: int
    conversation_ids: tuple[int, ...]
    reason: Any


@dataclass(frozen=True)
class LockChanged:
    """A moderator's lock on a profile was taken or released."""
    moderator_id: int
    profile_id: int


@dataclass(frozen=True)
class QueueChanged:
    """Someone joined or left the moderator queue: positions moved."""


@dataclass(frozen=True)
class MonitoringAlert:
    """The monitoring pass found something admins should see."""
    report: Any


@dataclass(frozen=True)
class AccountDisabled:
    """An account was disabled: its open pages must close."""
    user_id: int


@dataclass(frozen=True)
class SessionsEnded:
    """Every session of an account was ended: its open pages must close (they reconnect, and
    are refused)."""
    user_id: int


@dataclass(frozen=True)
class SanctionChanged:
    """A client was banned or muted, or a ban or mute ended: a banned client's pages are told why
    and closed."""
    client_id: int


@dataclass(frozen=True)
class ReportDecided:
    """An admin decided a report: its reporter (and a warned client, ``user_ids``) see the notice."""
    report_id: int
    user_ids: tuple[int, ...]


@dataclass(frozen=True)
class NotificationsChanged:
    """A user's notifications were written: the cached count goes, their pages get the new one."""
    user_id: int


@dataclass(frozen=True)
class NotificationToMail:
    """A new notification its user wants mailed (a job sends it, once)."""
    notification_id: int
    kind: str = ""


@dataclass(frozen=True)
class TicketChanged:
    """Something happened to a support ticket (``ticket_events`` row): its people are mailed."""
    event_id: int


def record(happened) -> None:
    """``happened`` follows the commit of the current unit of work (nothing, if it rolls back)."""
    db.session().info.setdefault(_KEY, []).append(happened)


_handlers: list[Callable[[list], None]] = []


def subscribe(handler: Callable[[list], None]) -> None:
    """``handler(events)`` runs after each commit that recorded events, in the committing context."""
    if handler not in _handlers:
        _handlers.append(handler)


def unsubscribe(handler: Callable[[list], None]) -> None:
    if handler in _handlers:
        _handlers.remove(handler)


def _committed(session: Session) -> None:
    happened = session.info.pop(_KEY, None)
    if not happened:
        return
    for handler in _handlers:
        try:
            handler(happened)
        except Exception:  # noqa: BLE001 - the data is stored; a page that missed a push catches up
            log.exception("could not dispatch %d events after a commit", len(happened))


@sqlalchemy_event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_KEY, None)


after_commit(_committed)
