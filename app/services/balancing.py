"""Load balancing: when two online moderators' loads differ by ``threshold`` (default 2) or
more, active conversations move from the busiest to the least busy, one at a time, until the
spread is below the threshold. A conversation moved in the last ``cooldown`` seconds (default
300) never moves again (anti ping-pong). Each move is a guarded ``reassign``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import ChangeReason, Conversation, Role, User
from . import assignment


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


def movable_conversation(moderator_id: int, now: datetime, cooldown: int) -> int | None:
    """An active conversation of this moderator that did not move recently (waiting ones first)."""
    since = now - timedelta(seconds=cooldown)
    return db.session.scalar(
        select(Conversation.id)
        .where(Conversation.assigned_moderator_id == moderator_id,
               or_(Conversation.awaiting_reply_since.is_not(None),
                   Conversation.last_message_at >= now - assignment.ACTIVE_WINDOW),
               or_(Conversation.last_moved_at.is_(None), Conversation.last_moved_at < since))
        .order_by(Conversation.awaiting_reply_since.is_(None), Conversation.awaiting_reply_since,
                  Conversation.id)
        .limit(1)
    )


def rebalance(now: datetime, threshold: int = 2, cooldown: int = 300, max_moves: int = 500) -> Rebalance:
    result = Rebalance()
    assignment._serialize_decisions()
    loads = online_loads(now)
    stuck: set[int] = set()  # busiest moderators with nothing movable left
    while len(result.moves) < max_moves and len(loads) >= 2:
        candidates = {m: n for m, n in loads.items() if m not in stuck}
        if not candidates:
            break
        busiest = max(candidates, key=lambda m: (candidates[m], -m))
        idlest = min(loads, key=lambda m: (loads[m], m))
        if loads[busiest] - loads[idlest] < threshold:
            break
        conversation_id = movable_conversation(busiest, now, cooldown)
        if conversation_id is None:
            stuck.add(busiest)
            continue
        if assignment.reassign(conversation_id, idlest, now, ChangeReason.BALANCE):
            result.moves.append((conversation_id, busiest, idlest))
            loads[busiest] -= 1
            loads[idlest] += 1
        else:
            stuck.add(busiest)
    return result
