"""Load balancing: when two online moderators' loads differ by ``threshold`` (default 2) or
more, work moves from the busiest to the least busy until the spread is below the threshold.
Work moves a profile at a time (a profile has one moderator; its conversations follow it).
A profile or conversation moved in the last ``cooldown`` seconds (default 300) never moves
again (anti ping-pong), nor does a profile its moderator is answering on. Each move is a
guarded ``assignment.move_profile`` (compare-and-set on the holder).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import ChangeReason, Conversation, ProfileAssignment, ProfileLock, Role, User
from . import assignment, locks


@dataclass
class Rebalance:
    moves: list[tuple[int, int, int]] = field(default_factory=list)  # (conversation, from, to)

    @property
    def touched(self) -> set[int]:
        return {m for _, a, b in self.moves for m in (a, b)}


def online_loads(now: datetime) -> dict[int, int]:
    loads = assignment.active_load_subquery(now)
    rows = db.session.execute(
        select(User.id, func.coalesce(loads.c.load, 0))
        .outerjoin(loads, loads.c.moderator_id == User.id)
        .where(User.role == Role.MODERATOR, User.is_online.is_(True), User.active.is_(True))
    )
    return {mid: load for mid, load in rows}


def movable_profile(moderator_id: int, now: datetime, cooldown: int, at_most: int) -> tuple[int, int] | None:
    """(profile id, active conversations) of a profile this moderator holds that may move to
    someone ``at_most + 1`` or more conversations less busy: it has 1 to ``at_most`` active
    conversations (so the move narrows the gap), neither it nor its conversations moved in the
    last ``cooldown`` seconds, and its moderator is not answering on it (an "answering" profile
    lock). The best fit halves the gap; among equals, the one touching fewest clients, then
    the one with most waiting."""
    if at_most < 1:
        return None
    since = now - timedelta(seconds=cooldown)
    active = func.count(Conversation.id)
    waiting = func.count(Conversation.awaiting_reply_since)
    answering = (select(ProfileLock.id)
                 .where(ProfileLock.profile_id == ProfileAssignment.profile_id,
                        ProfileLock.moderator_id == moderator_id, ProfileLock.lock_type == locks.ANSWERING,
                        ProfileLock.expires_at >= now)
                 .exists())
    rows = db.session.execute(
        select(ProfileAssignment.profile_id, active, waiting)
        .join(Conversation, (Conversation.profile_id == ProfileAssignment.profile_id)
              & (Conversation.assigned_moderator_id == ProfileAssignment.moderator_id))
        .where(ProfileAssignment.moderator_id == moderator_id,
               or_(ProfileAssignment.last_moved_at.is_(None), ProfileAssignment.last_moved_at < since),
               or_(Conversation.last_moved_at.is_(None), Conversation.last_moved_at < since),
               assignment._is_active(now), ~answering)
        .group_by(ProfileAssignment.profile_id)
        .having(active <= at_most)
    ).all()
    if not rows:
        return None
    gap = at_most + 1
    best = min(rows, key=lambda r: (abs(gap - 2 * r[1]), r[1], -r[2], r[0]))  # then the fewest clients
    return best[0], best[1]


def rebalance(now: datetime, threshold: int = 2, cooldown: int = 300, max_moves: int = 500) -> Rebalance:
    """Move profiles from the busiest online moderator to the least busy until every gap is
    below ``threshold`` or nothing may move. Each move strictly narrows the gap it closes, so
    the pass ends."""
    result = Rebalance()
    assignment._serialize_decisions()
    loads = online_loads(now)
    stuck: set[int] = set()  # busy moderators with nothing movable left
    while len(result.moves) < max_moves and len(loads) >= 2:
        candidates = {m: n for m, n in loads.items() if m not in stuck}
        if not candidates:
            break
        busiest = max(candidates, key=lambda m: (candidates[m], -m))
        idlest = min(loads, key=lambda m: (loads[m], m))
        gap = loads[busiest] - loads[idlest]
        if gap < threshold:
            break
        found = movable_profile(busiest, now, cooldown, gap - 1)
        if found is None:
            stuck.add(busiest)
            continue
        profile_id, active = found
        moved = assignment.move_profile(profile_id, busiest, idlest, now, ChangeReason.BALANCE)
        if not moved:
            stuck.add(busiest)
            continue
        result.moves += [(conversation_id, busiest, idlest) for conversation_id in sorted(moved)]
        loads[busiest] -= active
        loads[idlest] += active
    return result
