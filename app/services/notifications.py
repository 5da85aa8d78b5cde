"""The notification centre: what each user is told in the app, and mailed by their preferences.

``notify`` is the one way in, inside the caller's unit of work. An event about an object that
already has an unread notification of that kind merges into it (``count`` + 1, moved to the top)
instead of adding one: a client gets one notification per conversation until they read it, not
one per message. Past ``NOTIFICATIONS_PER_MINUTE`` new ones per user, events only merge.

The unread count is read on every page (the bell) and pushed on every change, so it is cached in
Redis per user. Every write records ``events.NotificationsChanged``; after the commit the
dispatcher drops the cached count (``invalidate``), reads it again and pushes it to every page of
the user. A count read from the database is cached only if no write was committed meanwhile: the
write raises a version first, and the cache is filled only while the version is the one read
before the count (a check-and-set in Redis), so a slow reader never caches a stale count.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import MAIL_BY_DEFAULT, NOTIFICATION_KINDS, Notification, Role, User
from ..redis_client import get_redis, names
from . import events
from .errors import NotFound, ValidationError

log = logging.getLogger(__name__)

# Kinds whose mail is sent by their own job, not the notification's: a round's call (always
# mailed: waking moderators is its point), a ticket's change (one mail per change, ``jobs.tickets``,
# which asks ``wants_mail(user, "ticket")``).
MAILED_ELSEWHERE = ("round_called", "ticket")
# Kinds a user chooses to be mailed or not (the account page), by role: the ones that reach them.
MAIL_CHOICES = tuple(k for k in NOTIFICATION_KINDS if k != "round_called")
MAIL_CHOICES_BY_ROLE = {
    Role.CLIENT: ("reply", "report_outcome", "ticket", "export_ready"),
    Role.MODERATOR: ("work_assigned", "report_outcome", "ticket"),
    Role.ADMIN: ("ticket", "job_failed", "export_ready"),
}


def notify(user_id: int, kind: str, object_key: str, *, now: datetime, params: dict | None = None,
           link: str = "") -> Notification | None:
    """Tell ``user_id`` about ``object_key`` (``"conversation:12"``): a new notification, or the
    unread one of that kind and object bumped. None when the user's budget of new ones is spent.
    The badge's push, and the mail if the user wants this kind mailed, follow the commit."""
    if kind not in NOTIFICATION_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    params = params or {}
    merged = _merge(user_id, kind, object_key, params, link, now)
    if merged is None:
        if not _within_budget(user_id):
            log.info("notification %s %s for user %s dropped: over the per-minute budget", kind, object_key, user_id)
            return None
        try:
            with db.session.begin_nested():
                merged = Notification(user_id=user_id, kind=kind, object_key=object_key, params=params, link=link,
                                      count=1, created_at=now, updated_at=now)
                db.session.add(merged)
        except IntegrityError:  # another unit of work added it a moment ago: merge into theirs
            merged = _merge(user_id, kind, object_key, params, link, now)
            if merged is None:
                raise
        else:
            if kind not in MAILED_ELSEWHERE:
                user = db.session.get(User, user_id)
                if user is not None and wants_mail(user, kind):
                    events.record(events.NotificationToMail(merged.id, kind))
    events.record(events.NotificationsChanged(user_id))
    return merged


def path(endpoint: str, **values) -> str:
    """A notification's link: the path of ``endpoint``, built without a request (jobs, the CLI)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def _merge(user_id: int, kind: str, object_key: str, params: dict, link: str, now: datetime) -> Notification | None:
    row = db.session.scalar(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.kind == kind, Notification.object_key == object_key,
               Notification.read_at.is_(None))
        .values(count=Notification.count + 1, updated_at=now, params=params, link=link)
        .returning(Notification.id)
    )
    return db.session.get(Notification, row, populate_existing=True) if row is not None else None


def _within_budget(user_id: int) -> bool:
    r = get_redis()
    key = names().notification_budget(user_id)
    with r.pipeline() as pipe:  # the minute starts with its first notification
        pipe.set(key, 0, ex=60, nx=True)
        pipe.incr(key)
        _, used = pipe.execute()
    return used <= current_app.config["NOTIFICATIONS_PER_MINUTE"]


def wants_mail(user: User, kind: str) -> bool:
    chosen = (user.mail_preferences or {}).get(kind)
    return bool(chosen) if chosen is not None else kind in MAIL_BY_DEFAULT


def mail_choices(user: User) -> list[tuple[str, bool]]:
    """Each kind that reaches this user's role, and whether it is mailed (the account page's
    checkboxes)."""
    return [(kind, wants_mail(user, kind)) for kind in MAIL_CHOICES_BY_ROLE[user.role]]


def set_mail_preferences(user: User, mailed: set[str]) -> None:
    """``mailed``: the kinds of the user's role to mail (the others of the role are in-app only;
    choices about other kinds are kept). A kind that is not the role's is refused."""
    choices = MAIL_CHOICES_BY_ROLE[user.role]
    if set(mailed) - set(choices):
        raise ValidationError(_l("Unknown notification kind."))
    user.mail_preferences = {**(user.mail_preferences or {}), **{kind: kind in mailed for kind in choices}}


# -- reading ---------------------------------------------------------------------------------

def unread_count(user_id: int) -> int:
    """The user's unread notifications, from Redis when cached (see the module's docstring)."""
    r = get_redis()
    n = names()
    with r.pipeline(transaction=False) as pipe:
        pipe.get(n.notification_count(user_id))
        pipe.get(n.notification_count_version(user_id))
        cached, version = pipe.execute()
    if cached is not None:
        return int(cached)
    count = count_unread(user_id)
    _FILL(keys=[n.notification_count(user_id), n.notification_count_version(user_id)],
          args=[version or b"", count, current_app.config["NOTIFICATION_COUNT_CACHE_SECONDS"]], client=r)
    return count


def count_unread(user_id: int) -> int:
    """The count from the database (what the cache holds)."""
    return db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


class _Fill:
    """Caches a count only while the version is the one read before counting (a Lua script: one
    round trip, atomic)."""
    SCRIPT = """
    local version = redis.call('GET', KEYS[2]) or ''
    if version == ARGV[1] then
      redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
      return 1
    end
    return 0
    """

    def __init__(self):
        self._scripts: dict[int, object] = {}

    def __call__(self, keys, args, client):
        script = self._scripts.get(id(client))
        if script is None:
            script = self._scripts[id(client)] = client.register_script(self.SCRIPT)
        return script(keys=keys, args=args, client=client)


_FILL = _Fill()


def invalidate(user_id: int) -> None:
    """Drop the cached count of a user whose notifications were written (after the commit)."""
    n = names()
    with get_redis().pipeline() as pipe:  # MULTI: the version moves with the count's removal
        pipe.incr(n.notification_count_version(user_id))
        pipe.expire(n.notification_count_version(user_id), 7 * 24 * 3600)
        pipe.delete(n.notification_count(user_id))
        pipe.execute()


def forget_every_count(r) -> int:
    """Drop every user's cached count and move every version (after the database was replaced by
    a restore, the counts cached from the old rows are wrong). Returns the users whose count was
    cached."""
    n, forgotten = names(), 0
    for key in r.scan_iter(n.notification_count_version("*"), count=1000):
        r.incr(key)
    for key in r.scan_iter(n.notification_count("*"), count=1000):
        forgotten += r.delete(key)
    return forgotten


@dataclass(frozen=True)
class Page:
    items: list[Notification]
    page: int
    has_next: bool


def listing(user_id: int, page: int = 1, size: int | None = None) -> Page:
    """A user's notifications, newest (most recently bumped) first, ``size`` per page."""
    size = size or current_app.config["NOTIFICATIONS_PAGE_SIZE"]
    page = max(1, page)
    rows = list(db.session.scalars(
        select(Notification).where(Notification.user_id == user_id)
        .order_by(Notification.updated_at.desc(), Notification.id.desc())
        .offset((page - 1) * size).limit(size + 1)))
    return Page(rows[:size], page, len(rows) > size)


def _own(actor: User, notification_id: int) -> Notification:
    row = db.session.get(Notification, notification_id)
    if row is None or row.user_id != actor.id:  # another user's: as if it did not exist
        raise NotFound(_l("No such notification."))
    return row


# -- writing by the user ---------------------------------------------------------------------

def mark_read(actor: User, notification_id: int, now: datetime) -> Notification:
    row = _own(actor, notification_id)
    if row.read_at is None:
        row.read_at = now
        events.record(events.NotificationsChanged(actor.id))
    return row


def mark_all_read(actor: User, now: datetime) -> int:
    done = db.session.execute(update(Notification)
                              .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
                              .values(read_at=now)).rowcount
    if done:
        events.record(events.NotificationsChanged(actor.id))
    return done


def remove(actor: User, notification_id: int) -> None:
    row = _own(actor, notification_id)
    db.session.delete(row)
    events.record(events.NotificationsChanged(actor.id))


def remove_read(actor: User) -> int:
    done = db.session.execute(delete(Notification)
                              .where(Notification.user_id == actor.id, Notification.read_at.is_not(None))).rowcount
    if done:
        events.record(events.NotificationsChanged(actor.id))
    return done


def object_read(user_id: int, kind: str, object_key: str, now: datetime) -> bool:
    """The user saw the object itself (read the conversation): its unread notification is read."""
    done = db.session.execute(update(Notification)
                              .where(Notification.user_id == user_id, Notification.kind == kind,
                                     Notification.object_key == object_key, Notification.read_at.is_(None))
                              .values(read_at=now)).rowcount
    if done:
        events.record(events.NotificationsChanged(user_id))
    return bool(done)


def admins() -> list[int]:
    """Every active admin (failed-job alerts go to them)."""
    return list(db.session.scalars(select(User.id).where(User.role == Role.ADMIN, User.active.is_(True))))


def claim_alert_mail(r, user_id: int, object_key: str, every_seconds: int) -> bool:
    """True once per ``every_seconds`` for a user and an alert's object (a kind of job): the
    caller mails it; False while an earlier mail of it is that recent."""
    return bool(r.set(names().alert_mail(user_id, object_key), 1, nx=True, ex=every_seconds))
