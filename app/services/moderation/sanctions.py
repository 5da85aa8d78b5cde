"""Bans and mutes on clients: who may impose and lift them, and which are running.

- A **ban**: the client may not use the chat (their pages say why and until when).
- A **mute**: the client reads but may not send (their composer says until when).

Rules (``README.md``, "Moderation: who may do what"):
- Admins ban and mute any client, for a time or until lifted, and lift any sanction.
- A moderator mutes a client of a conversation they hold, for at most
  ``MODERATOR_MUTE_MAX_SECONDS`` and always with an end; they lift the mutes they imposed.
- Every sanction carries a reason. Imposing, lifting and the scheduled end of a sanction each
  write a line of the moderation log in the same transaction.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, bindparam, or_, select

from ...database import cached_statement
from ...extensions import db
from ...models import SANCTION_KINDS, Conversation, Role, Sanction, User
from ..errors import Forbidden, NotFound, ValidationError
from .. import events
from . import log, permissions

REASON_MAX_LENGTH = 500


def impose(actor: User, client_id: int, kind: str, reason: str, ends_at: datetime | None, now: datetime,
           conversation_id: int | None = None) -> Sanction:
    """Ban or mute ``client_id`` from ``now`` until ``ends_at`` (``None``: until lifted)."""
    if kind not in SANCTION_KINDS:
        raise ValidationError(_l("Choose a ban or a mute."))
    client = db.session.get(User, client_id) if isinstance(client_id, int) else None
    if client is None or client.role != Role.CLIENT:
        raise NotFound(_l("No such client."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_l("Give a reason."))
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(_l("The reason is at most %(n)d characters long.", n=REASON_MAX_LENGTH))
    if ends_at is not None and ends_at <= now:
        raise ValidationError(_l("The end must be in the future."))
    permissions.require(actor, f"sanction_{kind}",
                        _l("Only an admin may ban a client.") if actor.role == Role.MODERATOR else None)
    if actor.role == Role.MODERATOR:
        _check_moderator_mute(actor, client_id, kind, ends_at, now, conversation_id)
    sanction = Sanction(client_id=client_id, kind=kind, reason=reason, imposed_by_id=actor.id,
                        conversation_id=conversation_id, started_at=now, ends_at=ends_at)
    db.session.add(sanction)
    db.session.flush()
    log.record(kind, actor=actor, subject=client_id, reason=reason, until=ends_at, now=now,
               conversation_id=conversation_id, sanction_id=sanction.id)
    events.record(events.SanctionChanged(client_id))
    return sanction


def mute_from_conversation(moderator: User, conversation_id: int, reason: str, duration: str | None,
                           now: datetime) -> Sanction:
    """A moderator mutes the client of a conversation they hold, for ``duration`` seconds (a form's
    choice; at most ``MODERATOR_MUTE_MAX_SECONDS``, checked by ``impose``)."""
    conversation = db.session.get(Conversation, conversation_id) if isinstance(conversation_id, int) else None
    if conversation is None:
        raise NotFound(_l("No such conversation."))
    duration = (duration or "").strip()
    if not duration.isdigit() or int(duration) <= 0:
        raise ValidationError(_l("Choose how long the mute lasts."))
    return impose(moderator, conversation.client_id, "mute", reason, now + timedelta(seconds=int(duration)), now,
                  conversation_id=conversation_id)


def _check_moderator_mute(moderator: User, client_id: int, kind: str, ends_at: datetime | None, now: datetime,
                          conversation_id: int | None) -> None:
    if kind != "mute":
        raise Forbidden(_l("Only an admin may ban a client."))
    conversation = db.session.get(Conversation, conversation_id) if conversation_id else None
    if (conversation is None or conversation.client_id != client_id
            or conversation.assigned_moderator_id != moderator.id):
        raise Forbidden(_l("You may mute a client only from a conversation you hold."))
    longest = current_app.config["MODERATOR_MUTE_MAX_SECONDS"]
    if ends_at is None or ends_at > now + timedelta(seconds=longest):
        raise ValidationError(_l("A moderator mutes for at most %(n)d minutes.", n=longest // 60))


def lift(actor: User, sanction_id: int, reason: str, now: datetime) -> Sanction:
    """End a running sanction now, by hand."""
    sanction = db.session.get(Sanction, sanction_id) if isinstance(sanction_id, int) else None
    if sanction is None:
        raise NotFound(_l("No such ban or mute."))
    permissions.require(actor, "sanction_lift")
    if actor.role == Role.MODERATOR and sanction.imposed_by_id != actor.id:
        raise Forbidden(_l("You may not do this."))
    if not sanction.running(now):
        raise ValidationError(_l("This ban or mute has already ended."))
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(_l("The reason is at most %(n)d characters long.", n=REASON_MAX_LENGTH))
    sanction.lifted_at = now
    sanction.lifted_by_id = actor.id
    log.record("unban" if sanction.kind == "ban" else "unmute", actor=actor, subject=sanction.client_id,
               reason=reason, now=now, sanction_id=sanction.id)
    events.record(events.SanctionChanged(sanction.client_id))
    return sanction


# The lengths offered by the forms, in seconds (a moderator's list stops at MODERATOR_MUTE_MAX_SECONDS).
DURATIONS = (3600, 24 * 3600, 7 * 24 * 3600, 30 * 24 * 3600)


def ends_at_from(duration: str | None, until: str | None, now: datetime, zone: str) -> datetime | None:
    """A form's end: a length in seconds (``duration``, one of ``DURATIONS``), or a date and time in
    the display time zone (``until``, as a ``datetime-local`` input sends it); neither: no end."""
    duration, until = (duration or "").strip(), (until or "").strip()
    if until:
        try:
            local = datetime.fromisoformat(until)
        except ValueError:
            raise ValidationError(_l("The end is not a date and time.")) from None
        if local.tzinfo is None:
            local = local.replace(tzinfo=ZoneInfo(zone))
        return local.astimezone(timezone.utc).replace(tzinfo=None)
    if not duration:
        return None
    if not duration.isdigit() or int(duration) not in DURATIONS:
        raise ValidationError(_l("Choose one of the lengths offered."))
    return now + timedelta(seconds=int(duration))


def running_by_client(client_ids: list[int], now: datetime) -> dict[int, list[Sanction]]:
    """The running sanctions of several clients (the admin's users page), in one query."""
    if not client_ids:
        return {}
    rows = db.session.scalars(select(Sanction).where(
        Sanction.client_id.in_(client_ids), Sanction.lifted_at.is_(None), Sanction.started_at <= now,
        or_(Sanction.ends_at.is_(None), Sanction.ends_at > now)).order_by(Sanction.id)).all()
    found: dict[int, list[Sanction]] = {}
    for sanction in rows:
        found.setdefault(sanction.client_id, []).append(sanction)
    return found


def running(client_id: int, now: datetime) -> dict[str, Sanction]:
    """The client's running sanctions by kind (the one ending last of each)."""
    rows = db.session.scalars(select(Sanction).where(
        Sanction.client_id == client_id, Sanction.lifted_at.is_(None), Sanction.started_at <= now,
        or_(Sanction.ends_at.is_(None), Sanction.ends_at > now))).all()
    found: dict[str, Sanction] = {}
    for sanction in rows:
        best = found.get(sanction.kind)
        if best is None or best.ends_at is not None and (sanction.ends_at is None or sanction.ends_at > best.ends_at):
            found[sanction.kind] = sanction
    return found


def end_expired(now: datetime) -> int:
    """The scheduled pass: sanctions whose end has passed are marked ended, each with its log line.
    Idempotent: a sanction is ended once (``lifted_at`` set), so a second pass finds nothing."""
    due = db.session.scalars(select(Sanction).where(
        Sanction.lifted_at.is_(None), Sanction.ends_at.is_not(None), Sanction.ends_at <= now)
        .with_for_update(skip_locked=True)).all()
    for sanction in due:
        sanction.lifted_at = sanction.ends_at
        log.record("sanction_ended", actor=None, subject=sanction.client_id, now=now, sanction_id=sanction.id,
                   detail={"kind": sanction.kind})
        events.record(events.SanctionChanged(sanction.client_id))
    return len(due)


def check_may_send(client_id: int, now: datetime) -> None:
    """Refuse a banned or muted client's message (or reaction) before anything is stored: one
    indexed query (``ix_sanctions_client_running``) on every client send, built once; the rows
    are loaded only for a client who is refused."""
    if db.session.execute(cached_statement(("sanctions.any_running",), _any_running), {
            "client_id_": client_id, "now_": now}).first() is None:
        return
    found = running(client_id, now)
    sanction = found.get("ban") or found.get("mute")
    if sanction is not None:
        raise Forbidden(refusal(sanction))


def _any_running():
    c = Sanction.__table__.c
    now = bindparam("now_", type_=DateTime())
    return (select(c.id).where(c.client_id == bindparam("client_id_"), c.lifted_at.is_(None), c.started_at <= now,
                               or_(c.ends_at.is_(None), c.ends_at > now)).limit(1))


def check_may_react(client_id: int, now: datetime) -> None:
    """A banned client does not react either (a muted one may: a reaction is not a message)."""
    sanction = running(client_id, now).get("ban")
    if sanction is not None:
        raise Forbidden(refusal(sanction))


def refusal(sanction: Sanction):
    """What a sanctioned client is told, in their language: the kind, the reason and, if any, the end."""
    if sanction.kind == "ban":
        if sanction.ends_at is None:
            return _l("You are banned (%(reason)s).", reason=sanction.reason)
        return _l("You are banned until %(until)s (%(reason)s).", until=format_datetime(sanction.ends_at, "short"),
                  reason=sanction.reason)
    if sanction.ends_at is None:
        return _l("You are muted (%(reason)s).", reason=sanction.reason)
    return _l("You are muted until %(until)s (%(reason)s).", until=format_datetime(sanction.ends_at, "short"),
              reason=sanction.reason)
