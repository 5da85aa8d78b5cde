"""Reactions to messages: an emoji from one side of a conversation, given or taken back.

Invariants and what guards them:
- A side reacts to a message with an emoji at most once: the unique constraint (message, side,
  emoji). Reacting again with it takes it back, so repeating a click never adds rows.
- A side puts at most ``per_message_max`` different emoji on one message: counted after the
  message's row is locked (``FOR UPDATE`` on PostgreSQL, the write lock of ``BEGIN IMMEDIATE`` on
  SQLite), so two reactions at once cannot both pass the count.
- Only the conversation's client, the moderator holding it now and admins react or see the
  reactions (``photos.viewing.may_see``): every message named by id is checked here. The client
  reacts as the client; a moderator, or an admin, as the profile.
- Only emoji of the data set are stored, in its one form (``emoji.canonical``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload

from ..database import dialect_insert
from ..extensions import db
from ..models import Message, MessageReaction, Role, User
from . import emoji, events
from .moderation import sanctions
from .errors import Forbidden, NotFound, ServiceError
from .photos.viewing import may_see


@dataclass(frozen=True)
class ReactionCount:
    """One emoji on a message: how many sides gave it, and which (the viewer's own is shown pressed)."""
    emoji: str
    count: int
    sides: frozenset[str]


@dataclass(frozen=True)
class Reactions:
    """A message's reactions after a change, for the answer and the pushes."""
    message: Message
    counts: list[ReactionCount]
    side: str  # the side of whoever changed them


def side_of(actor: User) -> str:
    return "client" if actor.role == Role.CLIENT else "profile"


def visible_message(actor: User, message_id: int, lock: bool = False) -> Message:
    """The message, with its conversation, if ``actor`` may see it: 404 when there is none by that
    id, 403 when it is not theirs to see. ``lock``: its row is locked until the commit."""
    statement = select(Message).options(joinedload(Message.conversation)).where(Message.id == message_id)
    if lock:
        statement = statement.with_for_update(of=Message)
    message = db.session.scalar(statement)
    if message is None:
        raise NotFound(_l("This message does not exist."))
    if not actor.active or not may_see(actor, message.conversation):
        raise Forbidden(_l("You may not see this message."))
    return message


def toggle_reaction(actor: User, message_id: int, text: str | None, now: datetime, per_message_max: int) -> Reactions:
    """``actor``'s side reacts to the message with an emoji, or takes that reaction back if it had
    given it. Refused: text that is not one emoji of the set, a new emoji past ``per_message_max``."""
    chosen = emoji.canonical(text)
    if chosen is None:
        raise ServiceError(_l("Choose an emoji to react with."))
    if actor.is_client:
        sanctions.check_may_react(actor.id, now)
    message = visible_message(actor, message_id, lock=True)
    side = side_of(actor)
    table = MessageReaction.__table__
    mine = (table.c.message_id == message.id) & (table.c.side == side)
    taken_back = db.session.execute(delete(table).where(mine, table.c.emoji == chosen)).rowcount
    if not taken_back:
        given = db.session.scalar(select(func.count()).select_from(table).where(mine))
        if given >= per_message_max:
            raise ServiceError(_l("At most %(n)d different reactions on one message.", n=per_message_max))
        db.session.execute(dialect_insert(table)
                           .values(message_id=message.id, side=side, emoji=chosen, author_id=actor.id, created_at=now)
                           .on_conflict_do_nothing(index_elements=["message_id", "side", "emoji"]))
    events.record(events.ReactionsChanged(message.id))
    return Reactions(message, counts([message.id]).get(message.id, []), side)


def reactions_of(actor: User, message_id: int) -> Reactions:
    """A message's reactions, for someone who may see it."""
    message = visible_message(actor, message_id)
    return Reactions(message, counts([message.id]).get(message.id, []), side_of(actor))


def counts(message_ids: list[int]) -> dict[int, list[ReactionCount]]:
    """Message id -> its reactions, each emoji in the order it was first given (one query). The
    caller has checked who reads them."""
    if not message_ids:
        return {}
    table = MessageReaction.__table__
    rows = db.session.execute(select(table.c.message_id, table.c.emoji, table.c.side)
                              .where(table.c.message_id.in_(message_ids)).order_by(table.c.id))
    found: dict[int, dict[str, set[str]]] = {}
    for message_id, chosen, side in rows:
        found.setdefault(message_id, {}).setdefault(chosen, set()).add(side)
    return {message_id: [ReactionCount(chosen, len(sides), frozenset(sides)) for chosen, sides in by_emoji.items()]
            for message_id, by_emoji in found.items()}
