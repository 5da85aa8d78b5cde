"""The periodic health pass over assignments: repair what drifted, log it, raise alerts.

Each repair is one of the guarded operations of ``assignment`` (compare-and-set on the holder
it read), so the pass can run beside requests, workers and another pass without double moves.
A profile leaving an unavailable holder takes along the holder's other profiles holding a
client they approach, with the client lock (``assignment.move_profiles``).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from ..extensions import db
from ..models import AssignmentConflict, ChangeReason, Conversation, Role, User
from ..redis_client import names
from . import activity, assignment, conflicts, events, locks


@dataclass
class Report:
    checked_at: str
    orphans_assigned: int = 0
    moved_from_unavailable: int = 0
    expired_locks_removed: int = 0
    load_counters_fixed: int = 0  # counters caught up with conversations that went quiet
    waiting_conversations: int = 0
    online_moderators: int = 0
    open_conflicts: int = 0
    alerts: list[str] = field(default_factory=list)
    receivers: set[int] = field(default_factory=set)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["receivers"] = sorted(self.receivers)
        return data


def held_by_unavailable(limit: int = 500) -> list[tuple[int, int, int, bool]]:
    """Waiting conversations whose holder is offline or disabled:
    (conversation, profile, holder, disabled), the longest waiting first."""
    rows = db.session.execute(
        select(Conversation.id, Conversation.profile_id, Conversation.assigned_moderator_id, User.active)
        .join(User, User.id == Conversation.assigned_moderator_id)
        .where(Conversation.awaiting_reply_since.is_not(None),
               (User.is_online.is_(False)) | (User.active.is_(False)))
        .order_by(Conversation.awaiting_reply_since, Conversation.id)
        .limit(limit)
    )
    return [(cid, pid, mid, not active) for cid, pid, mid, active in rows]


def run_checks(now: datetime) -> Report:
    report = Report(checked_at=now.isoformat(timespec="seconds"))
    done: set[int] = set()  # a profile moves once, with all its conversations
    for conversation_id, profile_id, holder, disabled in held_by_unavailable():
        if profile_id in done:
            continue
        done.add(profile_id)
        target = assignment.least_loaded_online_moderator(now, exclude={holder})
        if target is None:
            break
        if assignment.move_profile(profile_id, holder, target, now, ChangeReason.DISCONNECT):
            report.moved_from_unavailable += 1
            report.receivers |= {target, holder}
            conflicts.record("held_by_disabled" if disabled else "held_by_offline", now,
                             conversation_id=conversation_id, moderator_ids=[holder, target],
                             detail="waiting conversation held by an unavailable moderator",
                             resolution=f"moved to moderator #{target}")
    report.load_counters_fixed = activity.resync_loads(now)
    assigned = assignment.assign_orphans(now)
    report.orphans_assigned = len(assigned)
    report.receivers |= set(assigned.values())
    report.expired_locks_removed = locks.clean_expired(now)
    report.waiting_conversations = db.session.scalar(
        select(func.count()).select_from(Conversation).where(Conversation.awaiting_reply_since.is_not(None)))
    report.online_moderators = db.session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.MODERATOR, User.is_online.is_(True),
                                                      User.active.is_(True)))
    report.open_conflicts = db.session.scalar(
        select(func.count()).select_from(AssignmentConflict).where(AssignmentConflict.resolved_at.is_(None)))
    if report.waiting_conversations and not report.online_moderators:
        report.alerts.append("no_moderator_online")
    if report.open_conflicts:
        report.alerts.append("open_conflicts")
    if report.alerts:
        events.record(events.MonitoringAlert(report))
    return report


def save_report(r, report: Report) -> dict:
    """Keep the pass's report for the admin overview (an hour); returns it as stored."""
    data = report.as_dict()
    r.set(names().monitoring_report, json.dumps(data), ex=3600)
    return data


def last_report(r) -> dict | None:
    """The last pass's report, its ``checked_at`` a (UTC) datetime again, for the overview's time filter."""
    raw = r.get(names().monitoring_report)
    if not raw:
        return None
    report = json.loads(raw)
    report["checked_at"] = datetime.fromisoformat(report["checked_at"])
    return report


def status(now: datetime) -> dict:
    """What ``flask assignment status`` prints."""
    loads = activity.load_subquery(now)
    moderators = db.session.execute(
        select(User.id, User.email, func.coalesce(loads.c.load, 0))
        .outerjoin(loads, loads.c.moderator_id == User.id)
        .where(User.role == Role.MODERATOR, User.is_online.is_(True))
        .order_by(func.coalesce(loads.c.load, 0).desc(), User.id)
    ).all()
    waiting = select(func.count()).select_from(Conversation).where(Conversation.awaiting_reply_since.is_not(None))
    return {
        "moderators": [{"id": i, "email": e, "load": n} for i, e, n in moderators],
        "waiting": db.session.scalar(waiting),
        "unassigned": db.session.scalar(waiting.where(Conversation.assigned_moderator_id.is_(None))),
        "profile_locks": len(locks.active_profile_locks(now)),
        "client_locks": len(locks.active_client_locks(now)),
        "open_conflicts": db.session.scalar(select(func.count()).select_from(AssignmentConflict)
                                            .where(AssignmentConflict.resolved_at.is_(None))),
    }
