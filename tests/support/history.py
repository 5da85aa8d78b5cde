"""A conversation with a long history, stored at once (the paging and reading tests need hundreds
of messages; sending each one through the service would only slow them down)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Conversation, Message, Role
from app.models.chat import Sender
from app.services import sending
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user, token


@dataclass
class LongConversation:
    client: object
    profile: object
    moderator: object
    conversation_id: int
    message_ids: list[int] = field(default_factory=list)

    def body(self, index: int) -> str:
        return body(index)


def body(index: int) -> str:
    """The text of the conversation's message number ``index`` (1 is the first)."""
    return f"message {index:03d}"


def every_third_from_the_profile(index: int) -> Sender:
    return Sender.PROFILE if index % 3 == 0 else Sender.CLIENT


def long_conversation(count: int, *, senders=every_third_from_the_profile, client_locale: str = "en",
                      moderator_locale: str = "en", profile_name: str = "Camille",
                      read: bool = True) -> LongConversation:
    """A client and a profile held by an online moderator, with ``count`` messages ("message 001"
    first), read to the end by both sides (``read``) or by neither. The first is sent through the service (it creates the
    conversation and assigns it); the others are stored directly, one minute apart."""
    moderator = make_user(Role.MODERATOR, online=True, locale=moderator_locale)
    client = make_user(locale=client_locale, display_name="Julien")
    profile = make_profile(profile_name, 27)
    start = utcnow() - timedelta(minutes=count + 1)
    with app_context():
        with write_transaction():
            posted = sending.post_client_message(client, profile.id, body(1), token(), start)
        conversation_id = posted.message.conversation_id
        ids = [posted.message.id]
        with write_transaction():
            rows = []
            for index in range(2, count + 1):
                sender = senders(index)
                rows.append(Message(conversation_id=conversation_id, sender=sender, body=body(index), client_token=token(),
                                    author_id=client.id if sender is Sender.CLIENT else moderator.id,
                                    created_at=start + timedelta(minutes=index)))
            db.session.add_all(rows)
            db.session.flush()
            ids += [row.id for row in rows]
            conversation = db.session.get(Conversation, conversation_id)
            if read:
                conversation.client_last_read_id = conversation.profile_last_read_id = ids[-1]
            else:  # the counter the replies would have moved
                conversation.client_unread_count = sum(1 for row in rows if row.sender is Sender.PROFILE)
    return LongConversation(client, profile, moderator, conversation_id, ids)
