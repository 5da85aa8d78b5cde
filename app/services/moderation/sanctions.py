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

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from ...extensions import db
from ...models import SANCTION_KINDS, Conversation, Role, Sanction, User
from ..errors import Forbidden, NotFound, ValidationError
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
    return sanction


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
    return sanction


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
    return len(due)
