"""Old rows removed, each kind after its own retention (``CLEANUP_*_DAYS``; 0 keeps it for good).

Rows go by primary key, at most ``batch_size`` at a time, each batch a short write of its own
(one autocommitted statement on PostgreSQL, a ``BEGIN IMMEDIATE`` transaction on SQLite): no
writer waits long behind a batch, no lock is held for long. The pass walks each table along its
primary key, ``batch_size`` rows per read, outside any write, and stops at the last row created
before the cutoff (none created since can be past its retention); of each read, the rows past
their retention go, and the write checks every condition again, so a row that changed meanwhile
stays. A second run finds nothing to remove.

What the engine still reads stays, whatever its age (each one checked by the condition of its kind):

* pending rows of messages not answered yet (the rounds, the waiting summary and a reply's UPDATE
  read those): only processed ones go;
* open conflicts (the monitoring counts them, admins resolve them): only resolved ones go;
* the rounds of the latest cycle: the next cycle is numbered from it, and a number given out twice
  would merge a new cycle's notifications (``"round:N"``) into an old one's. Other rounds go once
  their cycle ended, with their notifications (the only rows that refer to a round);
* unread notifications younger than their own, longer retention; removing unread ones changes
  their users' counts, which are dropped and pushed again (``NotificationsChanged``);
* mail keys being sent (claimed, not marked sent): only sent ones go;
* the newest row of each table keyed by a number: SQLite gives the next row the highest id + 1,
  so removing the newest would give its id out again (the mail key ``"notification:12"`` would
  then refuse the new notification 12's mail);
* the assignment history: the engine reads only its last ``QUEUE_STATS_WINDOW_SECONDS`` (how often
  new work arrives), far inside any retention; who holds what is ``profile_assignments`` and the
  conversations, never the history.

A photo's original goes once its sizes were made (or it failed) ``photo_originals_days`` ago: the
file first, then the column is cleared, so a pass stopped between the two leaves the column for
the next one, never a file nobody would remove. Expired exports lose their files in their own
job (``exports.cleanup``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import and_, delete, func, select, true, update

from ..database import single_statement_write, write_transaction
from ..extensions import db
from ..models import (AssignmentChange, AssignmentConflict, MailDelivery, Notification, NotificationRound,
                      PendingClientMessage, Photo, RoundNotification)
from ..models.photos import PENDING
from . import events
from .storage import FolderStorage

# The kinds of a report, in the order they are shown.
KINDS = ("pending_messages", "assignment_changes", "conflicts", "rounds", "round_notifications",
         "read_notifications", "unread_notifications", "mail_deliveries", "photo_originals")


@dataclass(frozen=True)
class Settings:
    """Days each kind is kept (0: for good) and the rows of a batch (``CLEANUP_*``)."""
    pending_days: int = 30
    assignment_history_days: int = 180
    conflicts_days: int = 180
    rounds_days: int = 90
    read_notifications_days: int = 90
    unread_notifications_days: int = 365
    mail_deliveries_days: int = 90
    photo_originals_days: int = 30
    batch_size: int = 1000

    def __post_init__(self):
        if self.batch_size < 1 or any(getattr(self, f.name) < 0 for f in fields(self)):
            raise ValueError(f"cleanup settings: days at least 0, a batch at least 1 row ({self})")

    @classmethod
    def from_config(cls, config) -> "Settings":
        return cls(pending_days=int(config["CLEANUP_PENDING_DAYS"]),
                   assignment_history_days=int(config["CLEANUP_ASSIGNMENT_HISTORY_DAYS"]),
                   conflicts_days=int(config["CLEANUP_CONFLICTS_DAYS"]),
                   rounds_days=int(config["CLEANUP_ROUNDS_DAYS"]),
                   read_notifications_days=int(config["CLEANUP_READ_NOTIFICATIONS_DAYS"]),
                   unread_notifications_days=int(config["CLEANUP_UNREAD_NOTIFICATIONS_DAYS"]),
                   mail_deliveries_days=int(config["CLEANUP_MAIL_DELIVERIES_DAYS"]),
                   photo_originals_days=int(config["CLEANUP_PHOTO_ORIGINALS_DAYS"]),
                   batch_size=int(config["CLEANUP_BATCH_SIZE"]))


@dataclass
class Swept:
    """One kind's pass: rows removed (in a dry run: that would be), in how many batches; ``linked``:
    rows removed with them (a round's notifications)."""
    rows: int = 0
    batches: int = 0
    linked: int = 0


@dataclass(frozen=True)
class CleanupReport:
    """What a pass removed (or, in a dry run, would), kind by kind, in how many batches and seconds."""
    removed: dict[str, int]  # rows per kind (KINDS); in a dry run, the rows that would go
    batches: int
    seconds: float
    dry_run: bool = False

    @property
    def total(self) -> int:
        return sum(self.removed.values())


def run(now: datetime, settings: Settings, photos: FolderStorage | None = None,
        dry_run: bool = False) -> CleanupReport:
    """Every kind past its retention removed, or only counted (``dry_run``); photos' originals
    only with their storage. Call it outside a transaction: each batch commits its own."""
    started = time.monotonic()
    swept = {
        "pending_messages": processed_pending_messages(now, settings, dry_run),
        "assignment_changes": assignment_history(now, settings, dry_run),
        "conflicts": resolved_conflicts(now, settings, dry_run),
        "rounds": ended_rounds(now, settings, dry_run),
        "read_notifications": read_notifications(now, settings, dry_run),
        "unread_notifications": unread_notifications(now, settings, dry_run),
        "mail_deliveries": sent_mail_deliveries(now, settings, dry_run),
        "photo_originals": photo_originals(now, settings, photos, dry_run) if photos is not None else Swept(),
    }
    removed = {kind: found.rows for kind, found in swept.items()}
    removed["round_notifications"] = swept["rounds"].linked
    return CleanupReport({kind: removed[kind] for kind in KINDS}, sum(s.batches for s in swept.values()),
                         time.monotonic() - started, dry_run)


# -- one function per kind ---------------------------------------------------------------------
def processed_pending_messages(now: datetime, settings: Settings, dry_run: bool = False) -> Swept:
    """Pending rows of messages answered more than ``pending_days`` ago; never one still waiting."""
    cutoff = _cutoff(now, settings.pending_days)
    if cutoff is None:
        return Swept()
    c = PendingClientMessage.__table__.c
    return _sweep(_Rows(c.id, c.pending_since < cutoff, and_(c.is_processed == true(), c.processed_at < cutoff)),
                  settings.batch_size, dry_run)


def assignment_history(now: datetime, settings: Settings, dry_run: bool = False) -> Swept:
    """Changes of hands older than ``assignment_history_days``."""
    cutoff = _cutoff(now, settings.assignment_history_days)
    if cutoff is None:
        return Swept()
    c = AssignmentChange.__table__.c
    return _sweep(_Rows(c.id, c.changed_at < cutoff, true()), settings.batch_size, dry_run)


def resolved_conflicts(now: datetime, settings: Settings, dry_run: bool = False) -> Swept:
    """Conflicts resolved more than ``conflicts_days`` ago; open ones stay, however old."""
    cutoff = _cutoff(now, settings.conflicts_days)
    if cutoff is None:
        return Swept()
    c = AssignmentConflict.__table__.c
    return _sweep(_Rows(c.id, c.detected_at < cutoff, c.resolved_at < cutoff), settings.batch_size, dry_run)


def ended_rounds(now: datetime, settings: Settings, dry_run: bool = False) -> Swept:
    """Rounds of a cycle that ended more than ``rounds_days`` ago, with their notifications
    (``linked``); the latest cycle's stay, ended or not."""
    cutoff = _cutoff(now, settings.rounds_days)
    if cutoff is None:
        return Swept()
    r, n = NotificationRound.__table__, RoundNotification.__table__
    latest = r.alias("latest")
    rounds = _Rows(r.c.id, r.c.sent_at < cutoff,
                   and_(r.c.cycle_ended_at < cutoff, r.c.cycle < select(func.max(latest.c.cycle)).scalar_subquery()),
                   keep_newest=False)  # the newest round, and its notifications' newest row, are the latest cycle's
    if dry_run:
        linked = _count(n, n.c.round_id.in_(select(r.c.id).where(rounds.condition)))
        return Swept(_count(r, rounds.condition), linked=linked)
    linked = []

    def remove(due) -> int:
        with write_transaction():
            ids = list(db.session.scalars(select(r.c.id).where(r.c.id.in_([row[0] for row in due]), rounds.condition)))
            if not ids:
                return 0
            linked.append(db.session.execute(delete(n).where(n.c.round_id.in_(ids))).rowcount)
            return db.session.execute(delete(r).where(r.c.id.in_(ids))).rowcount

    swept = _sweep(rounds, settings.batch_size, dry_run, remove)
    swept.linked = sum(linked)
    return swept


def read_notifications(now: datetime, settings: Settings, dry_run: bool = False) -> Swept:
    """Notifications read, and last bumped, more than ``read_notifications_days`` ago."""
    cutoff = _cutoff(now, settings.read_notifications_days)
    if cutoff is None:
        return Swept()
    c = Notification.__table__.c
    return _sweep(_Rows(c.id, c.created_at < cutoff, and_(c.read_at < cutoff, c.updated_at < cutoff)),
                  settings.batch_size, dry_run)


def unread_notifications(now: datetime, settings: Settings, dry_run: bool = False) -> Swept:
    """Notifications never read and last bumped more than ``unread_notifications_days`` ago; their
    users' unread counts are dropped and pushed again after each batch's commit."""
    cutoff = _cutoff(now, settings.unread_notifications_days)
    if cutoff is None:
        return Swept()
    t = Notification.__table__
    unread = _Rows(t.c.id, t.c.created_at < cutoff, and_(t.c.read_at.is_(None), t.c.updated_at < cutoff))

    def remove(due) -> int:
        statement = (delete(t).where(t.c.id.in_([row[0] for row in due]), unread.condition)
                     .returning(t.c.user_id))
        return _in_own_write(lambda: _told(list(db.session.scalars(statement))))

    return _sweep(unread, settings.batch_size, dry_run, remove)


def sent_mail_deliveries(now: datetime, settings: Settings, dry_run: bool = False) -> Swept:
    """Keys of mails sent more than ``mail_deliveries_days`` ago; a claim not marked sent stays."""
    cutoff = _cutoff(now, settings.mail_deliveries_days)
    if cutoff is None:
        return Swept()
    c = MailDelivery.__table__.c
    return _sweep(_Rows(c.key, c.claimed_at < cutoff, c.sent_at < cutoff, keep_newest=False),
                  settings.batch_size, dry_run)


def photo_originals(now: datetime, settings: Settings, storage: FolderStorage, dry_run: bool = False) -> Swept:
    """Originals of photos made ready (or failed) more than ``photo_originals_days`` ago: the file
    removed, then ``original_key`` cleared. A pending photo keeps its original (the job reads it)."""
    cutoff = _cutoff(now, settings.photo_originals_days)
    if cutoff is None:
        return Swept()
    t = Photo.__table__
    originals = _Rows(t.c.id, t.c.created_at < cutoff,
                      and_(t.c.original_key.is_not(None), t.c.state != PENDING, t.c.processed_at < cutoff),
                      keep_newest=False)

    def remove(due) -> int:
        for row in due:
            storage.delete(row.original_key)
        statement = (update(t).where(t.c.id.in_([row.id for row in due]), originals.condition)
                     .values(original_key=None).execution_options(synchronize_session=False))
        return _in_own_write(lambda: db.session.execute(statement).rowcount)

    return _sweep(originals, settings.batch_size, dry_run, remove, also=(t.c.original_key,))


# -- batches -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Rows:
    """A kind's rows: its primary key; ``created_before``, its creation time before the cutoff
    (a row created since cannot be past its retention: it bounds the walk); ``due``, the rest of
    what makes a row go; ``keep_newest`` for a table keyed by a number (the module's docstring)."""
    key: Any
    created_before: Any
    due: Any
    keep_newest: bool = True

    @property
    def condition(self):
        """All a row must meet to go, checked again by the write that removes it."""
        terms = [self.created_before, self.due]
        if self.keep_newest:
            terms.append(self.key < _newest_key(self.key))
        return and_(*terms)


def _cutoff(now: datetime, days: int) -> datetime | None:
    return now - timedelta(days=days) if days else None


def _newest_key(key):
    newest = key.table.alias("newest")
    return select(func.max(newest.c[key.name])).scalar_subquery()


def _sweep(rows: _Rows, batch_size: int, dry_run: bool, remove: Callable[[list], int] | None = None,
           also: tuple = ()) -> Swept:
    """The rows that meet ``rows.condition`` handed to ``remove`` (by default: deleted), with the
    columns ``also``: each batch is the next ``batch_size`` rows in key order, of which those that
    meet it go; in a dry run they are only counted."""
    if dry_run:
        return Swept(_count(rows.key.table, rows.condition))
    last = _last_key(rows)
    remove = remove or _deleting(rows)
    swept, after = Swept(), None
    while last is not None:
        window = _next_window(rows, after, last, batch_size, also)
        due = [row for row in window if row.due]
        if due:
            swept.rows += remove(due)
            swept.batches += 1
        if len(window) < batch_size:
            break
        after = window[-1][0]
    return swept


def _last_key(rows: _Rows):
    """The highest key of a row created before the cutoff (below the newest row's when that stays):
    the walk ends there."""
    query = select(func.max(rows.key)).where(rows.created_before)
    if rows.keep_newest:
        query = query.where(rows.key < _newest_key(rows.key))
    last = db.session.scalar(query)
    db.session.rollback()
    return last


def _next_window(rows: _Rows, after, last, size: int, also: tuple) -> list:
    """The next ``size`` rows after ``after`` in key order (up to ``last``), each with ``due``. The
    condition is a column, not a filter: the read walks the primary key whatever index the
    condition could use (SQLite's planner would read and sort every matching row again for each
    batch). The read ends before the batch's write."""
    query = (select(rows.key, rows.condition.label("due"), *also).where(rows.key <= last)
             .order_by(rows.key).limit(size))
    if after is not None:
        query = query.where(rows.key > after)
    window = db.session.execute(query).all()
    db.session.rollback()
    return window


def _deleting(rows: _Rows) -> Callable[[list], int]:
    def remove(due) -> int:
        statement = delete(rows.key.table).where(rows.key.in_([row[0] for row in due]), rows.condition)
        return _in_own_write(lambda: db.session.execute(statement).rowcount)
    return remove


def _in_own_write(write: Callable[[], int]) -> int:
    """One statement as a write of its own: autocommitted on PostgreSQL, else a short transaction."""
    with single_statement_write() as alone:
        if alone:
            return write()
    with write_transaction():
        return write()


def _count(table, condition) -> int:
    count = db.session.scalar(select(func.count()).select_from(table).where(condition)) or 0
    db.session.rollback()
    return count


def _told(user_ids: list[int]) -> int:
    """Removed unread notifications of ``user_ids`` (one per row): each user's count changed."""
    for user_id in sorted(set(user_ids)):
        events.record(events.NotificationsChanged(user_id))
    return len(user_ids)
