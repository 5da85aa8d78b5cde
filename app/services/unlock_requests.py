"""Moderators ask for a locked profile to be freed; admins grant or refuse."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import Profile, UnlockRequest, User
from . import locks
from .moderation import log as moderation_log
from .errors import NotFound, ValidationError


def request_unlock(moderator: User, profile_id: int, reason: str, now: datetime) -> UnlockRequest:
    """One pending request per moderator and profile; asking again returns the pending one."""
    if db.session.get(Profile, profile_id) is None:
        raise NotFound(_l("This profile does not exist."))
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise ValidationError(_l("The reason is at most 500 characters long."))
    pending = db.session.scalar(select(UnlockRequest).where(
        UnlockRequest.profile_id == profile_id, UnlockRequest.requested_by_id == moderator.id,
        UnlockRequest.status == "pending"))
    if pending is not None:
        return pending
    request = UnlockRequest(profile_id=profile_id, requested_by_id=moderator.id, reason=reason, requested_at=now)
    db.session.add(request)
    db.session.flush()
    return request


def decide(admin: User, request_id: int, grant: bool, now: datetime) -> UnlockRequest:
    """Grant (the profile's lock is released) or refuse a pending request."""
    request = db.session.get(UnlockRequest, request_id)
    if request is None:
        raise NotFound(_l("No such unlock request."))
    if request.status != "pending":
        raise ValidationError(_l("This request was already decided."))
    request.status = "granted" if grant else "refused"
    request.decided_by_id, request.decided_at = admin.id, now
    if grant and locks.force_unlock_profile(request.profile_id):
        moderation_log.record("forced_unlock", actor=admin, subject=request.requested_by_id, now=now,
                              profile_id=request.profile_id, reason=request.reason)
    return request


def pending_requests() -> list[UnlockRequest]:
    return list(db.session.scalars(select(UnlockRequest).where(UnlockRequest.status == "pending")
                                   .order_by(UnlockRequest.requested_at)))
