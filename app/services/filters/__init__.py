"""Content filters: the rules (``rules``: kept by admins), their matcher on the send path
(``matcher.screen``), and what a hit leaves behind (``record_hits``, ``refuse``): a line in the
moderation log for every block, mask and flag, and a row to review for every flag."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from ...extensions import db
from ...models import FlaggedMessage, Message
from ..errors import ValidationError
from ..moderation import log
from .matcher import Screened, screen

__all__ = ["Blocked", "Screened", "record_hits", "refuse", "screen"]


class Blocked(ValidationError):
    """A message a filter rule refused: the sender is told, nothing is stored but the log line."""


def refuse(screened: Screened, *, author_id: int, now: datetime, profile_id: int | None = None,
           conversation_id: int | None = None) -> None:
    """Record the block in the session's unit of work; the caller commits it, then raises ``blocked()``."""
    log.record("filter_blocked", actor=None, subject=author_id, now=now, profile_id=profile_id,
               conversation_id=conversation_id, detail={"rule_id": screened.blocked_by})


def blocked() -> Blocked:
    return Blocked(_l("This message cannot be sent: it contains words that are not allowed here."))


def record_hits(screened: Screened, message: Message, *, author_id: int, profile_id: int | None, now: datetime) -> None:
    """After a stored message the rules masked or flagged: its log lines and, if flagged, its row
    in the review list; in the transaction that stored it."""
    common = dict(actor=None, subject=author_id, now=now, profile_id=profile_id,
                  conversation_id=message.conversation_id, message_id=message.id)
    if screened.masked_by:
        log.record("filter_masked", **common, detail={"message_id": message.id, "rule_ids": list(screened.masked_by)})
    if screened.flagged_by is not None:
        log.record("filter_flagged", **common, detail={"message_id": message.id, "rule_id": screened.flagged_by})
        db.session.add(FlaggedMessage(message_id=message.id, rule_id=screened.flagged_by, flagged_at=now))
