"""Conversations (one client x one profile) and their messages."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (DateTime, Enum, ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint, and_,
                        func, select)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db
from .profiles import Profile
from .users import User


class Sender(str, enum.Enum):
    CLIENT = "client"
    PROFILE = "profile"


class Conversation(db.Model):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id"), nullable=False)
    assigned_moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When it last changed hands after its first assignment (anti ping-pong for balancing).
    last_moved_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set when a client message is waiting for an answer, cleared by the profile's reply.
    awaiting_reply_since: Mapped[datetime | None] = mapped_column(DateTime)
    pending_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_client_message_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_profile_message_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    # Where each side left off reading: the id of the last message shown to the client, and to the
    # profile's side (whichever moderator holds it). NULL: that side never opened the conversation.
    # Only ever moves forward (services.reading); unread for a side = the other side's messages
    # with a higher id.
    client_last_read_id: Mapped[int | None] = mapped_column(Integer)
    profile_last_read_id: Mapped[int | None] = mapped_column(Integer)
    # When each side's read position last moved: the other side's "Seen" receipt.
    client_read_at: Mapped[datetime | None] = mapped_column(DateTime)
    profile_read_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The profile's messages above ``client_last_read_id``, kept as a counter: one more with each
    # reply (in the reply's own UPDATE), recounted when the client's read position moves.
    client_unread_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    client: Mapped[User] = relationship(foreign_keys=[client_id])
    profile: Mapped[Profile] = relationship()
    moderator: Mapped[User | None] = relationship(foreign_keys=[assigned_moderator_id])
    # The lock on the profile, whoever holds it and whatever its kind (read-only; loaded with the
    # conversation where a push shows its "answering" flag, so that flag costs no query).
    profile_lock = relationship("ProfileLock", primaryjoin="Conversation.profile_id == foreign(ProfileLock.profile_id)",
                                viewonly=True, uselist=False)

    __table_args__ = (
        UniqueConstraint("client_id", "profile_id", name="uq_conversations_client_profile"),
        # A conversation is held only by its profile's holder; moving the profile moves it too.
        ForeignKeyConstraint(["profile_id", "assigned_moderator_id"],
                             ["profile_assignments.profile_id", "profile_assignments.moderator_id"],
                             name="fk_conversations_profile_holder", onupdate="CASCADE"),
        Index("ix_conversations_moderator_waiting", "assigned_moderator_id", "awaiting_reply_since"),
        Index("ix_conversations_moderator_last", "assigned_moderator_id", "last_message_at"),
        Index("ix_conversations_client_last", "client_id", "last_message_at"),
        Index("ix_conversations_waiting", "awaiting_reply_since"),
        Index("ix_conversations_profile_holder", "profile_id", "assigned_moderator_id"),
    )

    @property
    def is_waiting(self) -> bool:
        return self.awaiting_reply_since is not None


class Message(db.Model):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), nullable=False)
    sender: Mapped[Sender] = mapped_column(
        Enum(Sender, name="message_sender", values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )
    # The user who typed it: the client, or the moderator writing as the profile.
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    client_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    # A photo message (``body`` its caption, maybe empty). Set after the insert, by the photo's
    # path only: the statements that store text messages leave it out.
    photo_id: Mapped[str | None] = mapped_column(ForeignKey("photos.id"))
    # The message this one answers, in the same conversation (checked by the services that store
    # it). Set only by the checked paths: the one-statement send path leaves it out.
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))

    conversation: Mapped[Conversation] = relationship()
    author: Mapped[User] = relationship()
    # Loaded for a whole page of history at once; no query for messages without a photo.
    photo = relationship("Photo", lazy="selectin")
    # Loaded for a page of history at once (``chat.history``), one level deep.
    reply_to: Mapped["Message | None"] = relationship(remote_side=[id])

    __table_args__ = (
        UniqueConstraint("conversation_id", "client_token", name="uq_messages_conversation_token"),
        Index("ix_messages_conversation_id", "conversation_id", "id"),
        Index("ix_messages_photo", "photo_id", unique=True),
    )


# The conversation's latest message (the previews of the lists): the one with its highest id, found
# through the (conversation_id, id) index; read-only. Pushes that follow a new message link it
# without a query (``set_committed_value``); lists load it joined.
_later = Message.__table__.alias("later_message")
Conversation.last_message = relationship(
    Message, viewonly=True, uselist=False,
    primaryjoin=and_(Message.conversation_id == Conversation.id,
                     Message.id == select(func.max(_later.c.id)).where(_later.c.conversation_id == Conversation.id)
                     .scalar_subquery()))
