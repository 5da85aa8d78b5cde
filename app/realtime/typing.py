"""When a socket's typing signals become a database write.

A page sends a typing signal (with the conversation typed in) at most every few seconds while its
user types. Each write records activity and locks the profile typed for, so they are spaced: the
first signal is written at once; more signals for the same conversation are dropped until
``every`` seconds have passed; a signal for another conversation (the moderator switched) is
written as soon as ``gap`` seconds have passed since the last write, so the lock follows the
moderator quickly but a page sending a flood of signals costs at most one write per ``gap``.
"""
from __future__ import annotations

import math

NOTHING = object()


class TypingSignals:
    def __init__(self, every: float, gap: float):
        self.every, self.gap = every, gap
        self._written_at = -math.inf
        self._written_for: object = NOTHING
        self._pending: object = NOTHING

    def seen(self, conversation_id: int | None, now: float) -> None:
        if now - self._written_at >= self.every or conversation_id != self._written_for:
            self._pending = conversation_id

    def due(self, now: float) -> bool:
        return self._pending is not NOTHING and now - self._written_at >= self.gap

    def take(self, now: float) -> int | None:
        """The conversation to write for (None: typing outside any conversation); marks it written."""
        conversation_id, self._pending = self._pending, NOTHING
        self._written_at, self._written_for = now, conversation_id
        return conversation_id

    def wait(self, now: float, longest: float) -> float:
        """How long the socket may sleep before a pending signal falls due."""
        if self._pending is NOTHING:
            return longest
        return min(longest, max(0.0, self._written_at + self.gap - now))
