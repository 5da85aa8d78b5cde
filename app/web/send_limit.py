"""How many messages a client may send (``RATELIMIT_SEND``): one window per account, counted by
Flask-Limiter's own strategy and storage (its public ``limiter.limiter``), in the deployment's key
prefix. The send path is the busiest request: Flask-Limiter's route decorator would evaluate its
scopes, exemptions and request context for each message, which cost more than the count itself
(``bench/instructions.py``), so the send view is wrapped by ``send_limited`` instead."""
from __future__ import annotations

from functools import lru_cache, wraps

from flask import current_app, request
from flask_babel import gettext as _
from limits import RateLimitItem, parse
from werkzeug.exceptions import TooManyRequests

from ..extensions import limiter
from .auth import session_user_id


class SendingTooFast(TooManyRequests):
    """A 429 that the composer shows (``errors``), with when to try again."""

    def __init__(self, retry_after: int):
        super().__init__(description=_("You are sending messages too fast. Wait a few seconds, then send again."))
        self.retry_after = retry_after


@lru_cache(maxsize=8)
def _window(text: str) -> RateLimitItem:
    return parse(text)


def send_limited(view):
    """Counts the sender's message before the view runs; over the limit, ``SendingTooFast``."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if current_app.config["RATELIMIT_ENABLED"]:
            window = _window(current_app.config["RATELIMIT_SEND"])
            who = session_user_id()
            sender = f"user:{who}" if who is not None else f"address:{request.remote_addr}"
            if not limiter.limiter.hit(window, current_app.config["RATELIMIT_KEY_PREFIX"], "send", sender):
                raise SendingTooFast(retry_after=window.get_expiry())
        return view(*args, **kwargs)

    return wrapped
