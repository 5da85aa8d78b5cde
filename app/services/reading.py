"""A conversation as each side reads it: pages of its history, and where that side left off.

Invariants and what guards them:
- Paging never repeats nor skips a message: pages are cut by message id (strictly older than the
  first one shown), and a page says whether anything older remains by asking for one row more
  than it shows, so the last page is known as the last without an empty request after it.
- A side's read position only moves forward and never past the conversation's own messages: the
  UPDATE compares with the stored value and takes the highest id of this conversation at or below
  the one asked for (a page cannot mark read what it was never shown).
- Every conversation is reached through its reader: a client through their own (client, profile)
  pair, a moderator only in a conversation they hold (``chat.moderator_conversation``), an admin
  any conversation (read only: an admin's reading moves no read position).
- Opened at a message (a search result), a conversation shows that message only if it belongs to
  it, and either reaches on to the latest message or says that newer ones remain.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update

from ..extensions import db
from ..models import Conversation, Message, Profile, Role, User
from ..models.chat import Sender
from . import chat, profiles
from .errors import Forbidden, NotFound

@dataclass
class HistoryPage:
    """Messages in display order (oldest first) and whether older ones remain."""
    messages: list[Message]
    has_older: bool = False


@dataclass
class OpenedConversation:
    """What a reader sees when a conversation opens: the latest page, and the first message of the
    other side they had not been shown yet (None: nothing new), which that page always holds."""
    conversation: Conversation | None
    page: HistoryPage
    first_unread_id: int | None = None
    # Opened at a message (``open_around_*``): that message, and whether messages newer than the
    # page remain (the message was too far back for the page to reach the latest one).
    focus_id: int | None = None
    has_newer: bool = False


def history_page(conversation_id: int, *, size: int, before_id: int | None = None,
                 after_id: int | None = None) -> HistoryPage:
    """The ``size`` latest messages, those older than ``before_id``, or all newer than ``after_id``."""
    if after_id is not None:
        return HistoryPage(chat.history(conversation_id, after_id=after_id))
    rows = chat.history(conversation_id, before_id=before_id, limit=size + 1)
    has_older = len(rows) > size
    return HistoryPage(rows[1:] if has_older else rows, has_older)


def client_history(client: User, profile_id: int, *, size: int, before_id: int | None = None,
                   after_id: int | None = None) -> tuple[Profile, HistoryPage]:
    """A page of the client's conversation with a profile (empty when they have none yet)."""
    profile = profiles.get_profile(profile_id)
    conversation = chat.find_conversation(client.id, profile.id)
    if conversation is None:
        return profile, HistoryPage([])
    return profile, history_page(conversation.id, size=size, before_id=before_id, after_id=after_id)


def moderator_history(moderator: User, conversation_id: int, *, size: int, before_id: int | None = None,
                      after_id: int | None = None) -> tuple[Conversation, HistoryPage]:
    """A page of a conversation the moderator holds."""
    conversation = chat.moderator_conversation(moderator, conversation_id)
    return conversation, history_page(conversation.id, size=size, before_id=before_id, after_id=after_id)


def open_for_client(client: User, profile_id: int, *, size: int, unread_max: int) -> tuple[Profile, OpenedConversation]:
    """The client opens their chat with a profile: the latest page, from the first reply they were
    not shown yet when there is one; everything in it now counts as read by them."""
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
    """A moderator opens a conversation they hold at one of its messages; their read position stays."""
    return _around(chat.moderator_conversation(moderator, conversation_id), message_id, size, reach_max)


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
    return OpenedConversation(conversation, HistoryPage(older.messages + after, older.has_older),
                              focus_id=message_id, has_newer=True)


def mark_read_by_client(client: User, profile_id: int, up_to_id: int) -> None:
    """The client's page showed their conversation with the profile up to ``up_to_id``."""
    conversation = chat.find_conversation(client.id, profiles.get_profile(profile_id).id)
    if conversation is not None:
        _move_read_position(conversation.id, Sender.CLIENT, up_to_id)


def mark_read_by_moderator(moderator: User, conversation_id: int, up_to_id: int) -> None:
    """The moderator's page showed a conversation they hold up to ``up_to_id``."""
    _move_read_position(chat.moderator_conversation(moderator, conversation_id).id, Sender.PROFILE, up_to_id)


def _read_column(side: Sender):
    return Conversation.client_last_read_id if side is Sender.CLIENT else Conversation.profile_last_read_id


def _open(conversation: Conversation, side: Sender, size: int, unread_max: int) -> OpenedConversation:
    other = Sender.PROFILE if side is Sender.CLIENT else Sender.CLIENT
    column = _read_column(side)
    # Read afresh: the conversation may have been loaded before this side's last move.
    read_up_to = db.session.scalar(select(column).where(Conversation.id == conversation.id)) or 0
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
    if page.messages:
        _move_read_position(conversation.id, side, page.messages[-1].id)
    return OpenedConversation(conversation, page, first_unread_id)


def _move_read_position(conversation_id: int, side: Sender, up_to_id: int) -> None:
    column = _read_column(side)
    shown = (select(func.max(Message.id)).where(Message.conversation_id == conversation_id, Message.id <= up_to_id)
             .scalar_subquery())
    db.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, or_(column.is_(None), column < shown))
        .values({column: shown})
        .execution_options(synchronize_session=False))
