"""Inactivity: a moderator holding conversations that wait for an answer, with no typing or
sending for ``INACTIVITY_SECONDS`` (default 60), loses those conversations to others (with
their profiles: a profile has one moderator).

Measured per conversation from the later of the moderator's last activity and the moment
they received it, so work handed to someone a second ago is never taken back at once.
Each move is a guarded ``assignment.move_profile`` (the UPDATE names the holder it read), so a
reply or another mover racing with the scan cannot double-assign. A profile carries along the
idle moderator's other profiles holding conversations of a client they approach (the client
lock follows): an idle moderator's approach goes to one moderator, never split between two.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import ChangeReason, Conversation, Role, User
from . import assignment


@dataclass
class Moves:
    # idle moderator id -> [(conversation id, new moderator id)]
    taken: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    @property
    def receivers(self) -> set[int]:
        return {to for moves in self.taken.values() for _, to in moves}


def record_activity(user: User, now: datetime) -> None:
    user.last_activity_at = now


def idle_waiting_conversations(now: datetime, idle_seconds: int) -> list[tuple[int, int]]:
    """(conversation id, holder id) of waiting conversations whose online holder is idle."""
    cutoff = now - timedelta(seconds=idle_seconds)
    last_sign = func.coalesce(User.last_activity_at, User.last_online_at, Conversation.assigned_at)
    rows = db.session.execute(
        select(Conversation.id, Conversation.assigned_moderator_id)
        .join(User, User.id == Conversation.assigned_moderator_id)
        .where(
            Conversation.awaiting_reply_since.is_not(None),
            User.role == Role.MODERATOR,
            User.is_online.is_(True),
            or_(Conversation.assigned_at.is_(None), Conversation.assigned_at < cutoff),
            last_sign < cutoff,
        )
        .order_by(Conversation.awaiting_reply_since, Conversation.id)
    )
    return [(cid, mid) for cid, mid in rows]


def reassign_from_idle_moderators(now: datetime, idle_seconds: int = 60) -> Moves:
    """Move the profiles holding idle moderators' waiting conversations (with all of those
    profiles' conversations) to the least-loaded active others. An idle moderator's answering
    lock does not protect them: they stopped typing."""
    moves = Moves()
    waiting = idle_waiting_conversations(now, idle_seconds)
    idle = {mid for _, mid in waiting}  # never hand their work to another idle moderator
    profile_of = dict(db.session.execute(
        select(Conversation.id, Conversation.profile_id).where(Conversation.id.in_([cid for cid, _ in waiting]))
    ).all()) if waiting else {}
    done: set[int] = set()
    for conversation_id, idle_id in waiting:
        profile_id = profile_of.get(conversation_id)
        if profile_id is None or profile_id in done:
            continue
        done.add(profile_id)
        target = assignment.least_loaded_online_moderator(now, exclude=idle)
        if target is None:
            break
        moved = assignment.move_profile(profile_id, idle_id, target, now, ChangeReason.INACTIVITY)
        if moved:
            moves.taken.setdefault(idle_id, []).extend((cid, target) for cid in sorted(moved))
    return moves
