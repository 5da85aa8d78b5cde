"""Conversations with chosen texts, held by a chosen moderator, for the search tests."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import ChangeReason, Conversation, Message, Role
from app.models.chat import Sender
from app.services import assignment, sending
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user, token


@dataclass
class Written:
    conversation_id: int
    client: object
    profile: object
    moderator: object
    message_ids: list[int] = field(default_factory=list)


def conversation_with(moderator, *bodies: str, profile_name: str = "Camille", client_name: str = "Julien",
                      minutes_ago: int = 60) -> Written:
    """A conversation held by ``moderator`` whose messages are ``bodies`` in order (the client's,
    then the profile's, in turn), one minute apart; the first goes through the send path."""
    client = make_user(display_name=client_name)
    profile = make_profile(profile_name, 27)
    start = utcnow() - timedelta(minutes=minutes_ago)
    with app_context():
        with write_transaction():
            posted = sending.post_client_message(client, profile.id, bodies[0], token(), start)
        conversation_id = posted.message.conversation_id
        ids = [posted.message.id]
        with write_transaction():
            for index, body in enumerate(bodies[1:], start=1):
                sender = Sender.PROFILE if index % 2 else Sender.CLIENT
                row = Message(conversation_id=conversation_id, sender=sender, body=body, client_token=token(),
                              author_id=client.id if sender is Sender.CLIENT else moderator.id,
                              created_at=start + timedelta(minutes=index))
                db.session.add(row)
                db.session.flush()
                ids.append(row.id)
        with write_transaction():
            if db.session.get(Conversation, conversation_id).assigned_moderator_id != moderator.id:
                assert assignment.reassign(conversation_id, moderator.id, utcnow(), ChangeReason.MANUAL)
    return Written(conversation_id, client, profile, moderator, ids)


def moderator(**extra):
    return make_user(Role.MODERATOR, online=True, **extra)
