"""A conversation as each side reads it: pages of its history, and where that side left off.

Invariants and what guards them:
- Paging never repeats nor skips a message: pages are cut by message id (strictly older than the
  first one shown), and a page says whether anything older remains by asking for one row more
  than it shows, so the last page is known as the last without an empty request after it.
- A side's read position only moves forward and never past the conversation's own messages: the
  UPDATE compares with the stored value and takes the highest id of this conversation at or below
  the one asked for (a page cannot mark read what it was never shown). It moves when a page shows
  the messages to its reader (visible, newest in view: ``static/js/history.js``), not when a page
  is merely loaded.
- The client's unread counter (``client_unread_count``) is the profile's messages above the
  client's read position: a reply adds one in its own UPDATE (``chat.post_profile_reply``); moving
  the client's position recounts it, after locking the conversation's row, so a reply committed
  meanwhile is counted (it waits for the lock, or the count runs after it committed).
- Every conversation is reached through its reader: a client through their own (client, profile)
  pair, a moderator only in a conversation they hold (``chat.moderator_conversation``), an admin
  any conversation (read only: an admin's reading moves no read position).
- Opened at a message (a search result), a conversation shows that message only if it belongs to
  it, and either reaches on to the latest message or says that newer ones remain.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..models import Conversation, Message, Profile, Role, User
from ..models.chat import Sender
from . import chat, events, notifications, profiles, reactions
from .errors import Forbidden, NotFound

@dataclass
class HistoryPage:
    """Messages in display order (oldest first), whether older ones remain, and the messages'
    reactions (message id -> ``reactions.ReactionCount`` list)."""
    messages: list[Message]
    has_older: bool = False
    reactions: dict = field(default_factory=dict)
    # A catch-up's messages already on the page whose reactions it shows again (message id ->
    # reactions): they may have changed while the page was away.
    refreshed: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    """What a side sees under its own last message: whether the other side was shown it, and when
    the other side's read position last moved."""
    seen: bool
    at: datetime | None = None


NOT_SEEN = Receipt(False)


@dataclass
class OpenedConversation:
    """What a reader sees when a conversation opens: the latest page, the first message of the
    other side they had not been shown yet (None: nothing new), which that page always holds, how
    far they had read (their page reports further reading from there), and their receipt."""
    conversation: Conversation | None
    page: HistoryPage
    first_unread_id: int | None = None
    read_up_to: int = 0
    receipt: Receipt = NOT_SEEN
    # Opened at a message (``open_around_*``): that message, and whether messages newer than the
    # page remain (the message was too far back for the page to reach the latest one).
    focus_id: int | None = None
    has_newer: bool = False


def history_page(conversation_id: int, *, size: int, before_id: int | None = None,
                 after_id: int | None = None, refresh_from: int | None = None) -> HistoryPage:
    """The ``size`` latest messages, those older than ``before_id``, or all newer than ``after_id``;
    a catch-up (``after_id``) also carries the reactions of the page's messages from
    ``refresh_from`` on (at most ``size`` of them, this conversation's only)."""
    if after_id is not None:
        page = HistoryPage(chat.history(conversation_id, after_id=after_id))
        if refresh_from is not None and refresh_from <= after_id:
            shown = list(db.session.scalars(
                select(Message.id).where(Message.conversation_id == conversation_id, Message.id >= refresh_from,
                                         Message.id <= after_id).order_by(Message.id.desc()).limit(size)))
            found = reactions.counts(shown)
            page.refreshed = {message_id: found.get(message_id, []) for message_id in reversed(shown)}
    else:
        rows = chat.history(conversation_id, before_id=before_id, limit=size + 1)
        has_older = len(rows) > size
        page = HistoryPage(rows[1:] if has_older else rows, has_older)
    page.reactions = reactions.counts([message.id for message in page.messages])
    return page


def client_history(client: User, profile_id: int, *, size: int, before_id: int | None = None,
                   after_id: int | None = None, refresh_from: int | None = None) -> tuple[Profile, HistoryPage]:
    """A page of the client's conversation with a profile (empty when they have none yet)."""
    profile = profiles.get_profile(profile_id)
    conversation = chat.find_conversation(client.id, profile.id)
    if conversation is None:
        return profile, HistoryPage([])
    return profile, history_page(conversation.id, size=size, before_id=before_id, after_id=after_id,
                                 refresh_from=refresh_from)


def moderator_history(moderator: User, conversation_id: int, *, size: int, before_id: int | None = None,
                      after_id: int | None = None, refresh_from: int | None = None) -> tuple[Conversation, HistoryPage]:
    """A page of a conversation the moderator holds."""
    conversation = chat.moderator_conversation(moderator, conversation_id)
    return conversation, history_page(conversation.id, size=size, before_id=before_id, after_id=after_id,
                                      refresh_from=refresh_from)


def open_for_client(client: User, profile_id: int, *, size: int, unread_max: int) -> tuple[Profile, OpenedConversation]:
    """The client opens their chat with a profile: the latest page, from the first reply they were
    not shown yet when there is one. Nothing counts as read until the page shows it."""
    profile = profiles.get_profile(profile_id)
    conversation = chat.find_conversation(client.id, profile.id)
    if conversation is None:
        return profile, OpenedConversation(None, HistoryPage([]))
    return profile, _open(conversation, Sender.CLIENT, size, unread_max)


def open_for_moderator(moderator: User, conversation_id: int, *, size: int, unread_max: int) -> OpenedConversation:
    """A moderator opens a conversation they hold, as the profile's side (whoever read it before)."""
    return _open(chat.moderator_conversation(moderator, conversation_id), Sender.PROFILE, size, unread_max)


def open_around_for_moderator(moderator: User, conversation_id: int, message_id: int, *, size: int,
                              reach_max: int) -> OpenedConversation:
    """A moderator opens a conversation they hold at one of its messages; their read position stays
    (their page reports further reading from it)."""
    conversation = chat.moderator_conversation(moderator, conversation_id)
    opened = _around(conversation, message_id, size, reach_max)
    opened.read_up_to = conversation.profile_last_read_id or 0
    return opened


def open_for_admin(admin: User, conversation_id: int, *, size: int, message_id: int | None = None,
                   reach_max: int = 0) -> OpenedConversation:
    """An admin reads any conversation: its latest page, or around ``message_id``."""
    conversation = _admin_conversation(admin, conversation_id)
    if message_id is not None:
        return _around(conversation, message_id, size, reach_max)
    return OpenedConversation(conversation, history_page(conversation.id, size=size))


def admin_history(admin: User, conversation_id: int, *, size: int, before_id: int | None = None,
                  after_id: int | None = None) -> tuple[Conversation, HistoryPage]:
    """A page of any conversation, for an admin."""
    conversation = _admin_conversation(admin, conversation_id)
    return conversation, history_page(conversation.id, size=size, before_id=before_id, after_id=after_id)


def _admin_conversation(admin: User, conversation_id: int) -> Conversation:
    if admin.role is not Role.ADMIN:
        raise Forbidden(_l("You are not allowed to do this."))
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(_l("This conversation does not exist."))
    return conversation


def _around(conversation: Conversation, message_id: int, size: int, reach_max: int) -> OpenedConversation:
    """The message with half a page above it and everything after it, when at most ``reach_max``
    messages follow it; further back, half a page on each side of it and ``has_newer``."""
    found = db.session.scalar(select(Message.id).where(Message.id == message_id,
                                                      Message.conversation_id == conversation.id))
    if found is None:
        raise NotFound(_l("This message is not in this conversation."))
    above = size // 2
    newer = db.session.scalar(select(func.count()).select_from(Message).where(
        Message.conversation_id == conversation.id, Message.id > message_id))
    if newer <= reach_max:
        return OpenedConversation(conversation, history_page(conversation.id, size=newer + 1 + above),
                                  focus_id=message_id)
    older = history_page(conversation.id, size=above + 1, before_id=message_id + 1)
    after = list(db.session.scalars(select(Message).where(
        Message.conversation_id == conversation.id, Message.id > message_id).order_by(Message.id).limit(above)))
    page = HistoryPage(older.messages + after, older.has_older,
                       {**older.reactions, **reactions.counts([message.id for message in after])})
    return OpenedConversation(conversation, page, focus_id=message_id, has_newer=True)


def mark_read_by_client(client: User, profile_id: int, up_to_id: int, now: datetime) -> bool:
    """The client's page showed their conversation with the profile up to ``up_to_id``: their
    unread counter is recounted, the moderator's receipt follows. True when the position moved."""
    conversation = chat.find_conversation(client.id, profiles.get_profile(profile_id).id)
    if conversation is None:
        return False
    moved = _move_read_position(conversation.id, Sender.CLIENT, up_to_id, now)
    if moved:  # they saw the conversation: its reply notification is read too
        notifications.object_read(client.id, "reply", f"conversation:{conversation.id}", now)
    return moved


def mark_read_by_moderator(moderator: User, conversation_id: int, up_to_id: int, now: datetime) -> bool:
    """The moderator's page showed a conversation they hold up to ``up_to_id``: the client's
    receipt follows. True when the position moved."""
    conversation = chat.moderator_conversation(moderator, conversation_id, options=())
    return _move_read_position(conversation.id, Sender.PROFILE, up_to_id, now)


def receipt_rule(viewer: Sender, last_id: int | None, last_sender: Sender | None, other_read_id: int | None,
                 other_read_at: datetime | None) -> Receipt:
    """"Seen" under the viewer's side's message when it is the conversation's latest and the
    other side's read position reached it; a newer message (from either side) takes it away."""
    if last_id is None or last_sender is not viewer or other_read_id is None or other_read_id < last_id:
        return NOT_SEEN
    return Receipt(True, other_read_at)


def receipt(conversation: Conversation, viewer: Sender) -> Receipt:
    """The receipt the ``viewer``'s side of the conversation sees now."""
    last = conversation.last_message
    if viewer is Sender.CLIENT:
        other_read_id, other_read_at = conversation.profile_last_read_id, conversation.profile_read_at
    else:
        other_read_id, other_read_at = conversation.client_last_read_id, conversation.client_read_at
    return receipt_rule(viewer, last.id if last else None, last.sender if last else None, other_read_id, other_read_at)


def client_unread_total(client_id: int) -> int:
    """The profiles' messages the client has not read, over all their conversations (the badge)."""
    return db.session.scalar(select(func.coalesce(func.sum(Conversation.client_unread_count), 0))
                             .where(Conversation.client_id == client_id))


def read_conversation(conversation_id: int) -> Conversation | None:
    """A conversation whose read position moved, with what its pushes render: the client, the
    profile, the holder and the latest message."""
    return db.session.get(Conversation, conversation_id, populate_existing=True,
                          options=(joinedload(Conversation.client), joinedload(Conversation.profile),
                                   joinedload(Conversation.moderator), joinedload(Conversation.last_message)))


def _read_column(side: Sender):
    return Conversation.client_last_read_id if side is Sender.CLIENT else Conversation.profile_last_read_id


def _open(conversation: Conversation, side: Sender, size: int, unread_max: int) -> OpenedConversation:
    other = Sender.PROFILE if side is Sender.CLIENT else Sender.CLIENT
    column = _read_column(side)
    # Read afresh: the conversation may have been loaded before either side's last move.
    fresh = db.session.execute(select(*_READ_STATE).where(Conversation.id == conversation.id)).one()
    for name, value in fresh._mapping.items():
        set_committed_value(conversation, name, value)
    read_up_to = getattr(conversation, column.key) or 0
    first_unread_id = db.session.scalar(
        select(func.min(Message.id)).where(Message.conversation_id == conversation.id, Message.sender == other,
                                           Message.id > read_up_to))
    if first_unread_id is not None:
        # The page reaches back to the first unread message with one message above it, when that
        # stays within unread_max; otherwise the divider would be out of reach: none is drawn.
        span = db.session.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation.id, Message.id >= first_unread_id))
        if span + 1 > unread_max:
            first_unread_id = None
        else:
            size = max(size, span + 1)
    page = history_page(conversation.id, size=size)
    set_committed_value(conversation, "last_message", page.messages[-1] if page.messages else None)  # latest page
    return OpenedConversation(conversation, page, first_unread_id, read_up_to, receipt(conversation, side))


def _move_read_position(conversation_id: int, side: Sender, up_to_id: int, now: datetime) -> bool:
    column = _read_column(side)
    shown = (select(func.max(Message.id)).where(Message.conversation_id == conversation_id, Message.id <= up_to_id)
             .scalar_subquery())
    values = {column: shown, _read_at_column(side): now}
    if side is Sender.CLIENT:
        # Counted after taking the row's lock: a reply that holds it commits first, and is counted.
        db.session.execute(select(Conversation.id).where(Conversation.id == conversation_id).with_for_update())
        values[Conversation.client_unread_count] = (
            select(func.count()).select_from(Message)
            .where(Message.conversation_id == conversation_id, Message.sender == Sender.PROFILE,
                   Message.id > func.coalesce(shown, 0)).scalar_subquery())
    moved = db.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, or_(column.is_(None), column < shown))
        .values(values)
        .execution_options(synchronize_session=False)).rowcount == 1
    if moved:
        events.record(events.ReadMoved(conversation_id, side.value))
    return moved


_READ_STATE = (Conversation.client_last_read_id, Conversation.profile_last_read_id, Conversation.client_read_at,
               Conversation.profile_read_at)


def _read_at_column(side: Sender):
    return Conversation.client_read_at if side is Sender.CLIENT else Conversation.profile_read_at
