"""Reports: people point admins at what is wrong, admins decide, the reporter hears the outcome.

Who may report what (``README.md``, "Moderation: who may do what"):
- a client reports a message the profile sent them (in their own conversation), or an active profile;
- a moderator reports the client of a conversation they hold;
- only admins read the queue and decide. A decision on a client (warn, mute, ban) applies to the
  client a report names; a report about a message or a profile is dismissed or upheld.

Invariants:
- at most one open report per reporter and object: checked, and held by a partial unique index
  (``uq_reports_one_open``) when two requests race;
- a report is decided once: the decision is a compare-and-set on ``state = 'open'``;
- deciding writes the ``report_decided`` log line, the sanction's own line (``sanctions.impose``)
  and the notices in the same transaction; the pushes follow its commit (``events.ReportDecided``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import (REPORT_DECISIONS, REPORT_REASONS, Conversation, Message, ModerationNotice, Profile, Report,
                       Role, User)
from ...models.chat import Sender
from .. import events, notifications
from ..errors import Forbidden, NotFound, TooMany, ValidationError
from . import log, sanctions

NOTE_MAX_LENGTH = 500
CLIENT_DECISIONS = ("dismiss", "warn", "mute", "ban")
CONTENT_DECISIONS = ("dismiss", "upheld")


@dataclass(frozen=True)
class Limits:
    per_hour: int
    comment_max: int
    page_size: int
    sanction_hours: tuple[int, ...]

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(config["REPORTS_PER_HOUR"], config["REPORT_COMMENT_MAX_LENGTH"], config["REPORTS_PAGE_SIZE"],
                   tuple(int(h) for h in str(config["REPORT_SANCTION_HOURS"]).split()))


def report_message(actor: User, message_id: int, reason: str, comment: str, now: datetime, limits: Limits) -> Report:
    """A client reports a message the profile sent them."""
    _require(actor, Role.CLIENT)
    message = db.session.get(Message, message_id) if isinstance(message_id, int) else None
    conversation = db.session.get(Conversation, message.conversation_id) if message else None
    if message is None or conversation.client_id != actor.id:
        raise NotFound(_l("No such message."))
    if message.sender != Sender.PROFILE:
        raise ValidationError(_l("You can report only the messages you received."))
    return _file(actor, "message", message.id, reason, comment, now, limits, profile_id=conversation.profile_id,
                 conversation_id=conversation.id, message_id=message.id)


def report_profile(actor: User, profile_id: int, reason: str, comment: str, now: datetime, limits: Limits) -> Report:
    """A client reports a profile they can see (an active one)."""
    _require(actor, Role.CLIENT)
    profile = db.session.get(Profile, profile_id) if isinstance(profile_id, int) else None
    if profile is None or not profile.active:
        raise NotFound(_l("No such profile."))
    return _file(actor, "profile", profile.id, reason, comment, now, limits, profile_id=profile.id)


def report_client(actor: User, conversation_id: int, reason: str, comment: str, now: datetime,
                  limits: Limits) -> Report:
    """A moderator reports the client of a conversation they hold."""
    _require(actor, Role.MODERATOR)
    conversation = db.session.get(Conversation, conversation_id) if isinstance(conversation_id, int) else None
    if conversation is None or conversation.assigned_moderator_id != actor.id:
        raise NotFound(_l("No such conversation."))
    return _file(actor, "client", conversation.client_id, reason, comment, now, limits,
                 client_id=conversation.client_id, profile_id=conversation.profile_id,
                 conversation_id=conversation.id)


def _require(actor: User, role: Role) -> None:
    if actor.role != role:
        raise Forbidden(_l("You may not do this."))


def _file(actor: User, kind: str, object_id: int, reason: str, comment: str, now: datetime, limits: Limits,
          **where) -> Report:
    if reason not in REPORT_REASONS:
        raise ValidationError(_l("Choose a reason."))
    comment = (comment or "").strip()
    if len(comment) > limits.comment_max:
        raise ValidationError(_l("The comment is at most %(n)d characters long.", n=limits.comment_max))
    if _open_report(actor.id, kind, object_id) is not None:
        raise ValidationError(_l("You already reported this. An admin will look at it soon."))
    filed = db.session.scalar(select(func.count()).select_from(Report).where(
        Report.reporter_id == actor.id, Report.created_at > now - timedelta(hours=1)))
    if filed >= limits.per_hour:
        raise TooMany(_l("You sent many reports in the last hour. Try again later."))
    report = Report(reporter_id=actor.id, kind=kind, object_id=object_id, reason=reason, comment=comment,
                    state="open", created_at=now, **where)
    try:
        with db.session.begin_nested():
            db.session.add(report)
    except IntegrityError:  # the same report, filed at the same instant by another request
        raise ValidationError(_l("You already reported this. An admin will look at it soon.")) from None
    return report


def _open_report(reporter_id: int, kind: str, object_id: int) -> Report | None:
    return db.session.scalar(select(Report).where(
        Report.reporter_id == reporter_id, Report.kind == kind, Report.object_id == object_id,
        Report.state == "open"))


@dataclass(frozen=True)
class QueuePage:
    reports: list[Report]
    page: int
    has_next: bool
    total: int


def queue(actor: User, now: datetime, limits: Limits, state: str | None = "open", reason: str | None = None,
          older_than_hours: int | None = None, page: int = 1) -> QueuePage:
    """The admins' queue: reports filtered by state, reason and age, oldest first, a page at a time."""
    _require(actor, Role.ADMIN)
    query = select(Report)
    if state in ("open", "decided"):
        query = query.where(Report.state == state)
    if reason in REPORT_REASONS:
        query = query.where(Report.reason == reason)
    if older_than_hours:
        query = query.where(Report.created_at <= now - timedelta(hours=older_than_hours))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = max(page, 1)
    rows = list(db.session.scalars(
        query.options(*_loaded()).order_by(Report.created_at, Report.id)
        .offset((page - 1) * limits.page_size).limit(limits.page_size + 1)))
    return QueuePage(rows[:limits.page_size], page, len(rows) > limits.page_size, total)


def _loaded():
    from sqlalchemy.orm import joinedload
    return (joinedload(Report.reporter), joinedload(Report.client), joinedload(Report.profile),
            joinedload(Report.message))


def decisions_for(report: Report) -> tuple[str, ...]:
    """What an admin may decide on this report."""
    return CLIENT_DECISIONS if report.kind == "client" else CONTENT_DECISIONS


def decide(actor: User, report_id: int, decision: str, note: str, hours: int | None, now: datetime,
           limits: Limits) -> Report:
    """An admin decides an open report: dismissed, upheld, or the client warned, muted or banned
    (for ``hours``, 0: until lifted). The reporter (and a warned client) get a notice."""
    _require(actor, Role.ADMIN)
    report = db.session.get(Report, report_id) if isinstance(report_id, int) else None
    if report is None:
        raise NotFound(_l("No such report."))
    if report.state != "open":
        raise ValidationError(_l("This report was already decided."))
    if decision not in REPORT_DECISIONS or decision not in decisions_for(report):
        raise ValidationError(_l("Choose a decision."))
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError(_l("The note is at most %(n)d characters long.", n=NOTE_MAX_LENGTH))
    sanction = None
    if decision in ("mute", "ban"):
        if hours not in limits.sanction_hours:
            raise ValidationError(_l("Choose how long."))
        ends_at = now + timedelta(hours=hours) if hours else None
        sanction = sanctions.impose(actor, report.client_id, decision, note or str(_l("Reported")), ends_at, now,
                                    conversation_id=report.conversation_id)
    decided = db.session.execute(
        update(Report).where(Report.id == report.id, Report.state == "open")
        .values(state="decided", decision=decision, decision_note=note or None, decided_at=now,
                decided_by_id=actor.id, sanction_id=sanction.id if sanction else None)
        .execution_options(synchronize_session=False)).rowcount
    if decided != 1:  # another admin decided it meanwhile
        raise ValidationError(_l("This report was already decided."))
    db.session.refresh(report)
    if decision == "warn":
        log.record("warn", actor=actor, subject=report.client_id, reason=note, now=now,
                   conversation_id=report.conversation_id, detail={"report": report.id})
        db.session.add(ModerationNotice(user_id=report.client_id, report_id=report.id, kind="warning", created_at=now))
    log.record("report_decided", actor=actor, subject=report.client_id, reason=note, now=now,
               profile_id=report.profile_id, conversation_id=report.conversation_id, message_id=report.message_id,
               sanction_id=report.sanction_id,
               detail={"report": report.id, "kind": report.kind, "reason": report.reason, "decision": decision})
    db.session.add(ModerationNotice(user_id=report.reporter_id, report_id=report.id, kind="outcome", created_at=now))
    notifications.notify(report.reporter_id, "report_outcome", f"report:{report.id}", now=now,
                         params={"decision": decision}, link=notifications.path("chat.index"))
    events.record(events.ReportDecided(report.id, tuple(sorted({report.reporter_id, report.client_id}
                                                               if decision == "warn" else {report.reporter_id}))))
    return report


def notices(user_id: int) -> list[ModerationNotice]:
    """The notices a user has not dismissed yet, newest first."""
    return list(db.session.scalars(select(ModerationNotice).where(
        ModerationNotice.user_id == user_id, ModerationNotice.dismissed_at.is_(None))
        .order_by(ModerationNotice.id.desc())))


def dismiss_notice(actor: User, notice_id: int, now: datetime) -> None:
    """The user closes one of their notices (someone else's is not found)."""
    notice = db.session.get(ModerationNotice, notice_id) if isinstance(notice_id, int) else None
    if notice is None or notice.user_id != actor.id:
        raise NotFound(_l("No such notice."))
    if notice.dismissed_at is None:
        notice.dismissed_at = now
