"""Notification rounds: while client messages wait and too few moderators are there to answer,
call moderators in by e-mail, a few at a time, offline and least loaded first.

A **cycle** starts with round 1 when the conditions hold (see ``should_start_round``) and ends
when nothing is pending. Each round records who it called in; the **check** 30 minutes after a
round starts the next one, with the next moderators, if messages still wait. Nobody is called
twice in a cycle.

What keeps the passes idempotent (two schedulers, a double run, a retry, ``flask rounds run-now``
beside the scheduler):

* passes take turns: a transaction-scoped advisory lock on PostgreSQL, the write lock
  (``BEGIN IMMEDIATE``) on SQLite, so a pass decides on what the previous one committed;
* the database itself refuses a second round with the same ``(cycle, round_number)`` and a
  second notification of a moderator in a cycle (unique constraints): a pass that loses there
  records nothing (its savepoint is rolled back) and so sends nothing, because e-mails are only
  enqueued by the pass whose round committed (``jobs.rounds``);
* a round's check is claimed by a compare-and-set on ``checked_at``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import false, func, select, text, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import NotificationRound, PendingClientMessage, Role, RoundNotification, User
from . import notifications, pending
from .activity import load_subquery

ROUNDS_LOCK_KEY = 0x5B0B  # one PostgreSQL advisory lock for "who decides on rounds"


@dataclass(frozen=True)
class Settings:
    min_pending_age: timedelta = timedelta(minutes=5)
    pending_per_moderator: float = 5.0
    moderators_per_round: int = 3
    check_after: timedelta = timedelta(minutes=30)

    @classmethod
    def from_config(cls, config) -> "Settings":
        return cls(
            min_pending_age=timedelta(seconds=config["ROUNDS_MIN_PENDING_AGE_SECONDS"]),
            pending_per_moderator=float(config["ROUNDS_PENDING_PER_MODERATOR"]),
            moderators_per_round=int(config["ROUNDS_MODERATORS_PER_ROUND"]),
            check_after=timedelta(seconds=config["ROUNDS_CHECK_AFTER_SECONDS"]),
        )


@dataclass
class Outcome:
    """What a pass did: ``round`` (a round was recorded: mail its moderators), ``cycle_ended``,
    ``nothing_pending``, ``cycle_open`` (the checks drive it), ``conditions_not_met``,
    ``no_open_cycle``, ``not_due``, ``nobody_left`` (everyone was called in this cycle) or
    ``lost_race`` (another pass recorded it first)."""

    action: str
    cycle: int | None = None
    round_id: int | None = None
    round_number: int | None = None
    moderator_ids: list[int] = field(default_factory=list)
    pending_count: int = 0
    online_moderators: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _take_turns() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ROUNDS_LOCK_KEY})


def online_moderator_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(
        User.role == Role.MODERATOR, User.is_online.is_(True), User.active.is_(True)))


def should_start_round(summary: pending.Summary, online: int, now: datetime, settings: Settings) -> bool:
    """A cycle starts when a message has waited ``min_pending_age`` and either no moderator is
    online or there are more than ``pending_per_moderator`` waiting messages per online moderator."""
    if summary.count == 0 or summary.oldest_since is None or summary.oldest_since > now - settings.min_pending_age:
        return False
    return online == 0 or summary.count / online > settings.pending_per_moderator


def latest_round() -> NotificationRound | None:
    return db.session.scalar(
        select(NotificationRound).order_by(NotificationRound.cycle.desc(), NotificationRound.round_number.desc())
        .limit(1).execution_options(populate_existing=True)
    )


def moderators_to_notify(cycle: int, now: datetime, limit: int) -> list[User]:
    """Active moderators not called in yet this cycle: offline first, then lowest load, then id."""
    loads = load_subquery(now)
    notified = select(RoundNotification.moderator_id).where(RoundNotification.cycle == cycle)
    return list(db.session.scalars(
        select(User)
        .outerjoin(loads, loads.c.moderator_id == User.id)
        .where(User.role == Role.MODERATOR, User.active.is_(True), User.id.not_in(notified))
        .order_by(User.is_online, func.coalesce(loads.c.load, 0), User.id)
        .limit(limit)
    ))


def end_cycle(cycle: int, now: datetime) -> bool:
    return db.session.execute(
        update(NotificationRound)
        .where(NotificationRound.cycle == cycle, NotificationRound.cycle_ended_at.is_(None))
        .values(cycle_ended_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount > 0


def start_notification_round(now: datetime, settings: Settings) -> Outcome:
    """The periodic pending-messages pass: end the cycle when nothing waits; when no cycle is
    open and the conditions hold, record round 1 of a new cycle. Call inside ``write_transaction``."""
    _take_turns()
    summary = pending.summary()
    latest = latest_round()
    cycle_open = latest is not None and latest.cycle_ended_at is None
    if summary.count == 0:
        if cycle_open:
            end_cycle(latest.cycle, now)
            return Outcome("cycle_ended", cycle=latest.cycle)
        return Outcome("nothing_pending")
    if cycle_open:
        return Outcome("cycle_open", cycle=latest.cycle, pending_count=summary.count)
    online = online_moderator_count()
    if not should_start_round(summary, online, now, settings):
        return Outcome("conditions_not_met", pending_count=summary.count, online_moderators=online)
    outcome = _record_round((latest.cycle + 1) if latest else 1, 1, now, summary, settings)
    outcome.online_moderators = online
    return outcome


def check_notification_round(now: datetime, settings: Settings) -> Outcome:
    """The check after a round: once ``check_after`` has passed since the open cycle's last round,
    the next round calls in the next moderators if messages still wait; the cycle ends when
    nothing waits. Call inside ``write_transaction``."""
    _take_turns()
    latest = latest_round()
    if latest is None or latest.cycle_ended_at is not None:
        return Outcome("no_open_cycle")
    summary = pending.summary()
    if summary.count == 0:
        end_cycle(latest.cycle, now)
        return Outcome("cycle_ended", cycle=latest.cycle)
    if latest.checked_at is not None or latest.sent_at + settings.check_after > now:
        return Outcome("not_due", cycle=latest.cycle, pending_count=summary.count)
    claimed = db.session.execute(
        update(NotificationRound)
        .where(NotificationRound.id == latest.id, NotificationRound.checked_at.is_(None))
        .values(checked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return Outcome("lost_race", cycle=latest.cycle)
    return _record_round(latest.cycle, latest.round_number + 1, now, summary, settings)


def _record_round(cycle: int, number: int, now: datetime, summary: pending.Summary, settings: Settings) -> Outcome:
    """Record a round and its notifications (the unique constraints refuse a duplicate: nothing
    is then recorded). The job then marks the waiting messages notified, in batches."""
    moderators = moderators_to_notify(cycle, now, settings.moderators_per_round)
    if not moderators:
        return Outcome("nobody_left", cycle=cycle, pending_count=summary.count)
    try:
        with db.session.begin_nested():
            round_ = NotificationRound(cycle=cycle, round_number=number, sent_at=now,
                                       moderator_ids_notified=[m.id for m in moderators],
                                       pending_messages_count=summary.count, oldest_pending_since=summary.oldest_since)
            db.session.add(round_)
            db.session.flush()
            db.session.add_all([RoundNotification(cycle=cycle, round_id=round_.id, moderator_id=m.id, email=m.email)
                                for m in moderators])
            db.session.flush()
            for m in moderators:  # in the app too, beside the mail
                notifications.notify(m.id, "round_called", f"round:{cycle}", now=now,
                                     params={"pending": summary.count}, link=notifications.path("moderator.workspace"))
    except IntegrityError:
        return Outcome("lost_race", cycle=cycle)
    return Outcome("round", cycle=cycle, round_id=round_.id, round_number=number,
                   moderator_ids=[m.id for m in moderators], pending_count=summary.count)


# -- reading, for the admin page and the CLI ---------------------------------------------------
@dataclass
class HistoryRow:
    round: NotificationRound
    moderators: list[User]
    still_waiting: int

    @property
    def answered(self) -> int:
        """Of the messages waiting when the round was sent, how many were answered since."""
        return max(self.round.pending_messages_count - self.still_waiting, 0)


def history(limit: int = 50) -> list[HistoryRow]:
    """The latest rounds, newest first, with how many of their waiting messages still wait."""
    still = (select(func.count()).select_from(PendingClientMessage)
             .where(PendingClientMessage.is_processed == false(),
                    PendingClientMessage.pending_since <= NotificationRound.sent_at)
             .correlate(NotificationRound).scalar_subquery())
    rows = db.session.execute(
        select(NotificationRound, still)
        .order_by(NotificationRound.cycle.desc(), NotificationRound.round_number.desc()).limit(limit)
    ).all()
    ids = {mid for round_, _ in rows for mid in round_.moderator_ids_notified}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    return [HistoryRow(round_, [users[m] for m in round_.moderator_ids_notified if m in users], count)
            for round_, count in rows]


@dataclass
class CycleState:
    summary: pending.Summary
    online_moderators: int
    latest: NotificationRound | None
    would_start: bool
    notified: list[User]   # called in this cycle, in the order they were called
    next_moderators: list[User]
    next_check_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.latest is not None and self.latest.cycle_ended_at is None

    @property
    def cycle(self) -> int | None:
        return self.latest.cycle if self.is_open else None

    @property
    def notified_ids(self) -> list[int]:
        return [user.id for user in self.notified]


def cycle_state(now: datetime, settings: Settings) -> CycleState:
    """Where the rounds stand now: the open cycle (if any), who was called, who comes next."""
    summary = pending.summary()
    online = online_moderator_count()
    latest = latest_round()
    is_open = latest is not None and latest.cycle_ended_at is None
    cycle = latest.cycle if is_open else ((latest.cycle + 1) if latest else 1)
    notified = list(db.session.scalars(select(User).join(RoundNotification, RoundNotification.moderator_id == User.id)
                                       .where(RoundNotification.cycle == cycle)
                                       .order_by(RoundNotification.id))) if is_open else []
    next_check = latest.sent_at + settings.check_after if is_open and latest.checked_at is None else None
    return CycleState(summary=summary, online_moderators=online, latest=latest,
                      would_start=not is_open and should_start_round(summary, online, now, settings),
                      notified=notified, next_moderators=moderators_to_notify(cycle, now, settings.moderators_per_round),
                      next_check_at=next_check)
