"""What a client message's statements return for its pushes, declared once for every path.

The pushes render the message, its conversation, the profile, the holder and the profile's lock.
Every column returned costs the driver and the result on each message, so only these come back;
the templates read nothing else (a test renders every push template from these snapshots and from
ORM rows and compares the HTML).
"""
from __future__ import annotations

from sqlalchemy import DateTime, bindparam, case, exists, or_, update

from ...database import loaded
from ...models import Conversation, Message, Profile, ProfileLock, Sanction, User
from ..messages import Posted
from ..snapshots import PUSHED, ConversationSnapshot, MessageSnapshot, Selected, Snapshot

SENDER = User.__table__.alias("sender")  # the client who writes, checked and returned by the statement

# Side by side in one row: the message, its conversation, the profile, the holder, the profile's
# lock and the sender, each column labelled with its prefix.
# Not the message's photo: the statements store text, a photo is linked afterwards (MessageSnapshot);
# nor what it answers: a reply goes the checked path (``send_client_message``).
MESSAGE = Selected(Message, "m", [column for column in Message.__table__.c
                                  if column.name not in ("photo_id", "reply_to_id")])
# Every column of the conversation but what each side has read (services.reading: positions, times,
# the client's unread counter): no push of a client's message shows it, and the PostgreSQL
# statement must stay under psycopg's size limit.
NOT_PUSHED = ("client_last_read_id", "profile_last_read_id", "client_read_at", "profile_read_at", "client_unread_count")
CONVERSATION_COLUMNS = [column for column in Conversation.__table__.c if column.name not in NOT_PUSHED]
CONVERSATION = Selected(Conversation, "c", CONVERSATION_COLUMNS)
PROFILE = Selected(Profile, "p", PUSHED[Profile])
HOLDER = Selected(User, "u", PUSHED[User])
LOCK = Selected(ProfileLock, "l", PUSHED[ProfileLock])
SENDER_COLUMNS = Selected(User, "s", PUSHED[User])


def counters(conversation_id=None):
    """The conversation's counters after a client message, moved in SQL (never from a value read
    earlier): one more waiting message, waiting since the first of them, last message now."""
    c = Conversation.__table__.c
    now = bindparam("now_", type_=DateTime())
    return (update(Conversation.__table__)
            .where(c.id == (bindparam("conversation_id_") if conversation_id is None else conversation_id))
            .values(pending_count=c.pending_count + 1,
                    awaiting_reply_since=case((c.awaiting_reply_since.is_(None), now), else_=c.awaiting_reply_since),
                    last_message_at=now, last_client_message_at=now))


def conversation_snapshot(row) -> ConversationSnapshot:
    return CONVERSATION.snapshot(row, ConversationSnapshot)


def message_snapshot(row) -> MessageSnapshot:
    return MESSAGE.snapshot(row, MessageSnapshot)


def linked(message: Snapshot, conversation: ConversationSnapshot, row) -> Posted:
    """The message in its conversation (its latest), with the client (a User, the request's user
    next), the profile, the holder and the profile's lock that the statement returned in ``row``."""
    conversation.client = loaded(User, SENDER_COLUMNS.values(row).items())
    conversation.profile = PROFILE.snapshot(row)
    conversation.moderator = HOLDER.snapshot(row)
    conversation.profile_lock = LOCK.snapshot(row)
    conversation.last_message = message  # the list's preview
    message.conversation = conversation
    return Posted(message, created=True)


# A session version no account reaches: the sender's sessions are not checked (a caller that is
# no request). A session holding an older version than its account's was ended: it sends nothing.
UNCHECKED_SESSION = 2**31 - 1


def not_sanctioned(sender_id, sanctions_table=None):
    """The sender has no running ban or mute (``ix_sanctions_client_running``): the statements
    store nothing for a sanctioned client, whom the checked path then refuses with the reason."""
    sanctions = (Sanction.__table__ if sanctions_table is None else sanctions_table).c
    return ~exists().where(sanctions.client_id == sender_id, sanctions.lifted_at.is_(None),
                           sanctions.started_at <= bindparam("now_", type_=DateTime()),
                           or_(sanctions.ends_at.is_(None), sanctions.ends_at > bindparam("now_", type_=DateTime())))
