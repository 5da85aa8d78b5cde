"""The conflict log: every conflict the engine meets is written down, then resolved."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import AssignmentConflict, User
from .errors import NotFound, ValidationError


def record(kind: str, now: datetime, *, conversation_id: int | None = None, moderator_ids=(), detail: str = "",
           resolution: str = "") -> AssignmentConflict:
    """Log a conflict; with ``resolution`` it is logged as already resolved by the engine."""
    conflict = AssignmentConflict(kind=kind, conversation_id=conversation_id, detected_at=now,
                                  moderator_ids=",".join(str(m) for m in moderator_ids if m is not None),
                                  detail=detail[:500], resolution=resolution[:500],
                                  resolved_at=now if resolution else None)
    db.session.add(conflict)
    db.session.flush()
    return conflict


def resolve(conflict_id: int, admin: User, note: str, now: datetime) -> AssignmentConflict:
    conflict = db.session.get(AssignmentConflict, conflict_id)
    if conflict is None:
        raise NotFound(_l("No such conflict."))
    if conflict.resolved_at is not None:
        raise ValidationError(_l("This conflict is already resolved."))
    note = (note or "").strip()
    if not note or len(note) > 500:
        raise ValidationError(_l("Say in 1 to 500 characters how it was resolved."))
    conflict.resolved_at, conflict.resolution, conflict.resolved_by_id = now, note, admin.id
    return conflict


def listing(*, open_only: bool = False, kind: str | None = None, limit: int = 200) -> list[AssignmentConflict]:
    query = select(AssignmentConflict).order_by(AssignmentConflict.detected_at.desc(),
                                                AssignmentConflict.id.desc()).limit(limit)
    if open_only:
        query = query.where(AssignmentConflict.resolved_at.is_(None))
    if kind:
        query = query.where(AssignmentConflict.kind == kind)
    return list(db.session.scalars(query))
