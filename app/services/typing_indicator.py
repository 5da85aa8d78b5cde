"""Who sees that someone types in a conversation.

Invariants and what guards them:

* the client sees the profile's holder typing (as the profile) and the holder sees the client
  typing; anybody else's signal for the conversation, or a signal for a conversation that does
  not exist, shows nothing to anybody: ``TypingAudience.watcher_of`` answers None;
* typing costs no write, and at most one read per conversation every ``keep`` seconds in a
  process (``TypingAudiences``); pages signal every few seconds while their users type. The price:
  a conversation that changed hands is seen with its former holder for ``keep`` seconds at most.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Conversation, Profile, User

CLIENT, MODERATOR = "client", "moderator"


@dataclass(frozen=True)
class Watcher:
    """Who is shown the typing, in their language, and the name they are shown."""
    user_id: int
    side: str  # CLIENT (shown the profile typing) or MODERATOR (shown the client typing)
    locale: str
    typist_name: str
    conversation_id: int
    profile_id: int


@dataclass(frozen=True)
class TypingAudience:
    """A conversation's two sides, as typing needs them."""
    conversation_id: int
    profile_id: int
    profile_name: str
    client_id: int
    client_name: str
    client_locale: str
    moderator_id: int | None
    moderator_locale: str | None  # set with moderator_id

    def watcher_of(self, typist_id: int) -> Watcher | None:
        """Who sees ``typist_id`` typing here: the holder for the client, the client for the holder."""
        if typist_id == self.client_id and self.moderator_id is not None:
            return Watcher(self.moderator_id, MODERATOR, self.moderator_locale, self.client_name,
                           self.conversation_id, self.profile_id)
        if self.moderator_id is not None and typist_id == self.moderator_id:
            return Watcher(self.client_id, CLIENT, self.client_locale, self.profile_name,
                           self.conversation_id, self.profile_id)
        return None


def typing_audience(conversation_id: int) -> TypingAudience | None:
    """The conversation's sides, in one read (None: no such conversation)."""
    client, moderator = aliased(User), aliased(User)
    row = db.session.execute(
        select(Conversation.profile_id, Profile.name, Conversation.client_id, client.display_name, client.locale,
               Conversation.assigned_moderator_id, moderator.locale)
        .join(Profile, Profile.id == Conversation.profile_id)
        .join(client, client.id == Conversation.client_id)
        .outerjoin(moderator, moderator.id == Conversation.assigned_moderator_id)
        .where(Conversation.id == conversation_id)
    ).first()
    if row is None:
        return None
    return TypingAudience(conversation_id, *row)


class TypingAudiences:
    """Audiences read at most once per conversation every ``keep`` seconds (``now``: a monotonic
    clock), unknown conversations included, so a page repeating a forged id costs one read."""

    def __init__(self, keep: float, most: int = 10_000):
        self.keep, self.most = keep, most
        self._read: dict[int, tuple[float, TypingAudience | None]] = {}
        self._lock = threading.Lock()

    def watcher(self, typist_id: int, conversation_id: int, now: float) -> Watcher | None:
        """Who sees ``typist_id`` typing in ``conversation_id`` (None: nobody may)."""
        with self._lock:
            kept = self._read.get(conversation_id)
        if kept is None or now - kept[0] >= self.keep:
            audience = typing_audience(conversation_id)
            with self._lock:
                if len(self._read) >= self.most:
                    self._forget_old(now)
                self._read[conversation_id] = (now, audience)
        else:
            audience = kept[1]
        return audience.watcher_of(typist_id) if audience is not None else None

    def _forget_old(self, now: float) -> None:
        for conversation_id, (read_at, _) in list(self._read.items()):
            if now - read_at >= self.keep:
                del self._read[conversation_id]
        if len(self._read) >= self.most:  # all fresh: a flood of ids, forget everything
            self._read.clear()
