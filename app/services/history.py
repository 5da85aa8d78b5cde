"""Reading the assignment history, with the filters admins use, and who holds which profile."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import AssignmentChange, ChangeReason, ProfileAssignment


def changes(*, moderator_id: int | None = None, reason: ChangeReason | None = None,
            conversation_id: int | None = None, limit: int = 200) -> list[AssignmentChange]:
    query = (select(AssignmentChange)
             .options(joinedload(AssignmentChange.from_moderator), joinedload(AssignmentChange.to_moderator))
             .order_by(AssignmentChange.changed_at.desc(), AssignmentChange.id.desc()).limit(limit))
    if moderator_id is not None:
        query = query.where(or_(AssignmentChange.to_moderator_id == moderator_id,
                                AssignmentChange.from_moderator_id == moderator_id))
    if reason is not None:
        query = query.where(AssignmentChange.reason == reason)
    if conversation_id is not None:
        query = query.where(AssignmentChange.conversation_id == conversation_id)
    return list(db.session.scalars(query))


def holdings(moderator_id: int | None = None) -> list[ProfileAssignment]:
    """Profiles and their moderator now, by moderator then profile."""
    query = (select(ProfileAssignment)
             .options(joinedload(ProfileAssignment.profile), joinedload(ProfileAssignment.moderator))
             .order_by(ProfileAssignment.moderator_id, ProfileAssignment.profile_id))
    if moderator_id is not None:
        query = query.where(ProfileAssignment.moderator_id == moderator_id)
    return list(db.session.scalars(query))
