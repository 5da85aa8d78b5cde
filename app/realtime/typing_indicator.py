"""The typing indicator's pushes: a page's typing signal, shown to the other side of the conversation.

The socket hands every signal it reads to ``typing_signalled``. A typist's signals become at most
one push every ``every`` seconds for the same conversation (``gap`` for another one), whatever
their pages send; who sees them is ``services.typing_indicator`` (no write, a read cached per
conversation). The push is a small fragment, out of band into the placeholder the other side's
page shows (``partials/push/_typing.html``); that page empties it by itself after a while
without a new one, so a lost push never leaves it stuck.
"""
from __future__ import annotations

import logging
import threading

import redis
from flask import current_app

from ..extensions import db
from ..redis_client import get_redis
from ..services.typing_indicator import TypingAudiences, Watcher
from ..web.i18n import in_language
from .hub import publish

log = logging.getLogger(__name__)


class TypingIndicator:
    """One web process's typing pushes: when each typist last pushed, and the audiences read."""

    def __init__(self, every: float, gap: float, audiences: TypingAudiences, most: int = 10_000):
        self.every, self.gap, self.most = every, gap, most
        self.audiences = audiences
        self._last: dict[int, tuple[int, float]] = {}  # typist -> (conversation, when) of their last push
        self._lock = threading.Lock()

    def signalled(self, r: redis.Redis, user_id: int, conversation_id: int | None, now: float) -> Watcher | None:
        """``user_id``'s page says they type in ``conversation_id`` (``now``: a monotonic clock).
        Returns who it was pushed to (None: throttled, or nobody may see it)."""
        if conversation_id is None or not self._turn(user_id, conversation_id, now):
            return None
        watcher = self.audiences.watcher(user_id, conversation_id, now)
        if watcher is None:
            return None
        with in_language(watcher.locale):
            fragment = current_app.jinja_env.get_template("partials/push/_typing.html").render(watcher=watcher)
        publish(r, watcher.user_id, fragment)
        return watcher

    def _turn(self, user_id: int, conversation_id: int, now: float) -> bool:
        """Whether this signal may push, counted as pushed if so (a signal for a forged id too:
        one read per spacing at most)."""
        with self._lock:
            last = self._last.get(user_id)
            if last is not None and now - last[1] < (self.every if last[0] == conversation_id else self.gap):
                return False
            if len(self._last) >= self.most:
                self._forget_old(now)
            self._last[user_id] = (conversation_id, now)
            return True

    def _forget_old(self, now: float) -> None:
        for user_id, (_, at) in list(self._last.items()):
            if now - at >= self.every:
                del self._last[user_id]


def init_app(app) -> None:
    config = app.config
    app.extensions["typing_indicator"] = TypingIndicator(
        config["TYPING_PUSH_SECONDS"], config["TYPING_SWITCH_SECONDS"],
        TypingAudiences(config["TYPING_AUDIENCE_SECONDS"]))


def typing_signalled(user_id: int, conversation_id: int | None, now: float) -> None:
    """A socket read a typing signal: the other side sees it. Best effort: a failure is logged,
    the socket stays; the database connection goes back to the pool (the socket lives for hours)."""
    if conversation_id is None:
        return
    try:
        current_app.extensions["typing_indicator"].signalled(get_redis(), user_id, conversation_id, now)
    except Exception as exc:  # noqa: BLE001 - an indicator is not worth a socket (nor a traceback per signal)
        log.warning("could not push typing of user %s: %s", user_id, str(exc).splitlines()[0][:200] if str(exc) else exc)
    finally:
        db.session.remove()
