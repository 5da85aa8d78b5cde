"""Reading the moderation log: the admins' page (every line, filtered, newest first, in pages) and
a client's log as a moderator may see it (on the client card of a conversation they hold).

Invariants:
- Only admins read the whole log (``permissions.require``, "moderation log: read all").
- A moderator reads a client's log only for the client of a conversation they hold now, and only
  the lines in ``MODERATOR_VISIBLE`` (below), as ``ClientLogLine``: what was done, when, until
  when and why, and whether it was them, another moderator, an admin or Switchboard. Never who
  the admin or the other moderator was, never ``detail`` (a report's reporter, a filter's rule),
  never the profile or conversation it happened in (they may not hold it).
- Bad filter input is never an error page: each faulty filter is dropped and said so in
  ``LogPage.notices``; the rest still apply.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import MODERATION_ACTIONS, Conversation, ModerationAction, Role, User
from ..errors import NotFound
from . import permissions

MAX_ID = 2**31 - 1

# What a moderator on a busy night needs to know about the client in front of them: running and
# past bans and mutes (with reason and end), warnings, and that a filter stopped or flagged the
# client's messages. What stays with admins: account disabling, reassignments and forced unlocks
# (about moderators, not the client), and decided reports (a report's reasons and outcome can name
# who reported; the reporter stays private).
MODERATOR_VISIBLE = ("ban", "unban", "mute", "unmute", "sanction_ended", "warn",
                     "filter_blocked", "filter_masked", "filter_flagged")
# Of those, the lines whose reason a moderator reads (a filter's reason may quote its rule).
MODERATOR_SEES_REASON = ("ban", "unban", "mute", "unmute", "warn")


@dataclass(frozen=True)
class LogFilters:
    action: str | None = None
    actor_id: int | None = None
    client_id: int | None = None
    since: date | None = None
    until: date | None = None


@dataclass
class LogPage:
    lines: list[ModerationAction]
    filters: LogFilters
    next_before: int | None  # the id to ask ``before`` for the next (older) page, None at the end
    notices: list = field(default_factory=list)  # the filters dropped, and why (translated)


@dataclass(frozen=True)
class ClientLogLine:
    """One line of a client's log as a moderator sees it: nothing an admin keeps to themselves."""
    created_at: datetime
    action: str
    by: str  # "you", "moderator", "admin" or "system"
    reason: str | None
    until: datetime | None
    kind: str | None  # for "sanction_ended": which one ended


def parse_filters(args) -> tuple[LogFilters, list]:
    """The filters from the page's query (strings), and a notice for each one dropped."""
    notices = []
    action = (args.get("action") or "").strip() or None
    if action is not None and action not in MODERATION_ACTIONS:
        notices.append(_l("Unknown action: the filter on the action is ignored."))
        action = None
    actor_id = _id(args.get("actor"))
    if actor_id is False:
        notices.append(_l("“Who” must be a user number: that filter is ignored."))
        actor_id = None
    client_id, client_text = None, (args.get("client") or "").strip()
    if client_text:
        client_id = _client(client_text)
        if client_id is None:
            notices.append(_l("No client with this address or number: that filter is ignored."))
    since, until = _day(args.get("since")), _day(args.get("until"))
    if since is False or until is False:
        notices.append(_l("Dates are written YYYY-MM-DD: a date that is not is ignored."))
        since, until = since or None, until or None
    if since and until and since > until:
        notices.append(_l("The first day is after the last one: the dates are ignored."))
        since = until = None
    return LogFilters(action, actor_id, client_id, since, until), notices


def parse_before(text: str | None) -> int | None:
    """The ``before`` mark of a later page; a malformed one starts from the newest line."""
    number = _id(text)
    return number or None


def page(actor: User, filters: LogFilters, size: int, size_max: int, before: int | None = None) -> LogPage:
    """One page of the log for an admin, newest first; ``before``: the last line's id of the page
    before (keyset on (created_at, id), so lines written meanwhile do not shift pages)."""
    permissions.require(actor, "log_read_all")
    size = max(1, min(size, size_max))
    query = select(ModerationAction).options(
        selectinload(ModerationAction.actor), selectinload(ModerationAction.subject))
    if filters.action:
        query = query.where(ModerationAction.action == filters.action)
    if filters.actor_id is not None:
        query = query.where(ModerationAction.actor_id == filters.actor_id)
    if filters.client_id is not None:
        query = query.where(ModerationAction.subject_id == filters.client_id)
    if filters.since:
        query = query.where(ModerationAction.created_at >= datetime.combine(filters.since, datetime.min.time()))
    if filters.until:
        query = query.where(ModerationAction.created_at
                            < datetime.combine(filters.until + timedelta(days=1), datetime.min.time()))
    if before is not None:
        mark = db.session.get(ModerationAction, before) if 0 < before <= MAX_ID else None
        if mark is not None:
            query = query.where(or_(ModerationAction.created_at < mark.created_at,
                                    and_(ModerationAction.created_at == mark.created_at,
                                         ModerationAction.id < mark.id)))
    rows = db.session.scalars(query.order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc())
                              .limit(size + 1)).all()
    lines = list(rows[:size])
    return LogPage(lines=lines, filters=filters, next_before=lines[-1].id if len(rows) > size else None)


def client_log_for_moderator(moderator: User, conversation_id: int, size: int) -> list[ClientLogLine]:
    """The latest ``size`` lines a moderator may see about the client of a conversation they hold."""
    conversation = db.session.get(Conversation, conversation_id) if 0 < conversation_id <= MAX_ID else None
    if conversation is None or conversation.assigned_moderator_id != moderator.id:
        raise NotFound(_l("No such conversation."))
    permissions.require(moderator, "log_read_client")
    rows = db.session.execute(
        select(ModerationAction, User.role).outerjoin(User, User.id == ModerationAction.actor_id)
        .where(ModerationAction.subject_id == conversation.client_id,
               ModerationAction.action.in_(MODERATOR_VISIBLE))
        .order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc()).limit(max(1, size))).all()
    return [ClientLogLine(created_at=line.created_at, action=line.action, by=_by(line, role, moderator),
                          reason=line.reason if line.action in MODERATOR_SEES_REASON else None,
                          until=line.until, kind=(line.detail or {}).get("kind") if line.action == "sanction_ended"
                          else None)
            for line, role in rows]


def _by(line: ModerationAction, role: Role | None, viewer: User) -> str:
    if line.actor_id is None:
        return "system"
    if line.actor_id == viewer.id:
        return "you"
    return "admin" if role == Role.ADMIN else "moderator"


def _id(text: str | None) -> int | None | bool:
    """An id, None when absent, False when malformed."""
    text = (text or "").strip()
    if not text:
        return None
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_ID else False


def _client(text: str) -> int | None:
    """The client named by an address or a number, if there is one."""
    if text.isdigit():
        number = int(text)
        user = db.session.get(User, number) if 0 < number <= MAX_ID else None
    else:
        user = db.session.scalar(select(User).where(User.email == text.lower()))
    return user.id if user is not None and user.role == Role.CLIENT else None


def _day(text: str | None) -> date | None | bool:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return False
