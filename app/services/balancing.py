"""Load balancing: when two online moderators' loads differ by ``threshold`` (default 2) or
more, work moves from the busiest to the least busy until the spread is below the threshold.
Work moves a profile at a time (a profile has one moderator; its conversations follow it).
A profile or conversation moved in the last ``cooldown`` seconds (default 300) never moves
again (anti ping-pong), nor does a profile its moderator is answering on. The moves are
guarded by ``assignment.move_profiles`` (compare-and-set on the holder read).

Balancing never takes back work handed over moments ago: a profile stays while one of its
waiting conversations reached its holder less than ``HANDOVER_GRACE_SECONDS`` ago (they have
not had the time to answer), and while its holder approaches one of its clients (a live client
lock of theirs). The latter is how balancing keeps an approached client whole: rather than
moving the profiles tied to it together (``move_profiles`` would, and the load arithmetic of
the plan would no longer hold), it leaves them where they are until the approach ends.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, func, or_, select

from ..extensions import db
from ..models import ChangeReason, ClientLock, Conversation, ProfileAssignment, ProfileLock, Role, User
from . import activity, assignment, locks


@dataclass
class Rebalance:
    moves: list[tuple[int, int, int]] = field(default_factory=list)  # (conversation, from, to)

    @property
    def touched(self) -> set[int]:
        return {m for _, a, b in self.moves for m in (a, b)}


def online_loads(now: datetime) -> dict[int, int]:
    loads = activity.load_subquery(now)
    rows = db.session.execute(
        select(User.id, func.coalesce(loads.c.load, 0))
        .outerjoin(loads, loads.c.moderator_id == User.id)
        .where(User.role == Role.MODERATOR, User.is_online.is_(True), User.active.is_(True))
    )
    return {mid: load for mid, load in rows}


@dataclass(frozen=True)
class Movable:
    profile_id: int
    active: int  # active conversations: what the move takes off the holder's load
    waiting: int
    held: int  # conversations that move with it (active or not)


def movable_profiles(now: datetime, cooldown: int, moderator_ids, grace: int | None = None) -> dict[int, list[Movable]]:
    """Per moderator, the profiles they hold that may move, in one query: with at least one active
    conversation, neither the profile nor any of its conversations moved in the last ``cooldown``
    seconds (anti ping-pong), its moderator not answering on it (an "answering" profile lock),
    none of its waiting conversations handed to them in the last ``grace`` seconds (default
    ``HANDOVER_GRACE_SECONDS``), and none of its clients approached by them (a live client lock)."""
    moderator_ids = sorted(moderator_ids)
    if not moderator_ids:
        return {}
    since = now - timedelta(seconds=cooldown)
    handed = now - timedelta(seconds=current_app.config["HANDOVER_GRACE_SECONDS"] if grace is None else grace)
    fresh = func.count(case((Conversation.awaiting_reply_since.is_not(None) & (Conversation.assigned_at >= handed), 1)))
    answering = (select(ProfileLock.id)
                 .where(ProfileLock.profile_id == ProfileAssignment.profile_id,
                        ProfileLock.moderator_id == ProfileAssignment.moderator_id,
                        ProfileLock.lock_type == locks.ANSWERING, ProfileLock.expires_at >= now)
                 .exists())
    active = func.count(case((activity.active_condition(since=activity.active_since(now)), 1)))
    last_moved = func.max(Conversation.last_moved_at)
    rows = db.session.execute(
        select(ProfileAssignment.moderator_id, ProfileAssignment.profile_id, active,
               func.count(Conversation.awaiting_reply_since), func.count())
        .join(Conversation, (Conversation.profile_id == ProfileAssignment.profile_id)
              & (Conversation.assigned_moderator_id == ProfileAssignment.moderator_id))
        .outerjoin(ClientLock, (ClientLock.client_id == Conversation.client_id)  # one lock row per client
                   & (ClientLock.moderator_id == ProfileAssignment.moderator_id) & (ClientLock.expires_at >= now))
        .where(ProfileAssignment.moderator_id.in_(moderator_ids),
               or_(ProfileAssignment.last_moved_at.is_(None), ProfileAssignment.last_moved_at < since), ~answering)
        .group_by(ProfileAssignment.moderator_id, ProfileAssignment.profile_id)
        .having(active >= 1, or_(last_moved.is_(None), last_moved < since), fresh == 0,
                func.count(ClientLock.id) == 0)
    )
    found: dict[int, list[Movable]] = {}
    for moderator_id, profile_id, n_active, n_waiting, n_held in rows:
        found.setdefault(moderator_id, []).append(Movable(profile_id, n_active, n_waiting, n_held))
    return found


def _best_fit(candidates: list[Movable], at_most: int) -> Movable | None:
    """The move that narrows a gap of ``at_most + 1`` most: it halves the gap; among equals, the
    one touching fewest clients, then the one with most waiting."""
    fits = [m for m in candidates if m.active <= at_most]
    if at_most < 1 or not fits:
        return None
    gap = at_most + 1
    return min(fits, key=lambda m: (abs(gap - 2 * m.active), m.active, -m.waiting, m.profile_id))


def movable_profile(moderator_id: int, now: datetime, cooldown: int, at_most: int) -> tuple[int, int] | None:
    """(profile id, active conversations) of the profile this moderator holds that best fits a
    move to someone ``at_most + 1`` conversations less busy (it has 1 to ``at_most`` active
    conversations, so the move narrows the gap), or None."""
    if at_most < 1:
        return None
    best = _best_fit(movable_profiles(now, cooldown, [moderator_id]).get(moderator_id, []), at_most)
    return (best.profile_id, best.active) if best else None


def rebalance(now: datetime, threshold: int = 2, cooldown: int = 300, max_moves: int = 500) -> Rebalance:
    """Move profiles from the busiest online moderator to the least busy until every gap is
    below ``threshold`` or nothing may move. Each move strictly narrows the gap it closes, so
    the pass ends.

    Set-based: the loads and every movable profile are read once (after taking the decisions'
    turn, so nothing else assigns meanwhile), the moves are planned in memory, then made by
    ``assignment.move_profiles`` in a fixed number of statements. A planned move whose holder
    changed anyway is dropped by its compare-and-set."""
    result = Rebalance()
    activity.take_decision_turn()
    loads = online_loads(now)
    if len(loads) < 2:
        return result
    movable = movable_profiles(now, cooldown, loads)
    plan: list[tuple[int, int, int]] = []
    planned_conversations = 0
    stuck: set[int] = set()  # busy moderators with nothing movable left
    while planned_conversations < max_moves:
        candidates = {m: n for m, n in loads.items() if m not in stuck}
        if not candidates:
            break
        busiest = max(candidates, key=lambda m: (candidates[m], -m))
        idlest = min(loads, key=lambda m: (loads[m], m))
        gap = loads[busiest] - loads[idlest]
        if gap < threshold:
            break
        best = _best_fit(movable.get(busiest, []), gap - 1)
        if best is None:
            stuck.add(busiest)
            continue
        movable[busiest].remove(best)  # moved now: it stays put for ``cooldown``
        plan.append((best.profile_id, busiest, idlest))
        planned_conversations += best.held
        loads[busiest] -= best.active
        loads[idlest] += best.active
    moved = assignment.move_profiles(plan, now, ChangeReason.BALANCE)
    for profile_id, busiest, idlest in plan:
        result.moves += [(conversation_id, busiest, idlest) for conversation_id in moved.get(profile_id, [])]
    return result
