"""Template helpers shared by every blueprint."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask import current_app, request, url_for
from flask.templating import Environment
from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l

from ..clock import utcnow, whole_seconds
from ..models import ChangeReason, Role
from ..services.locks import ANSWERING
from .i18n import viewer_zone


class TemplateEnvironment(Environment):
    """Flask's Jinja environment, with each template's globals one plain dict.

    Jinja chains a template's globals to the environment's (a ``ChainMap``) so that globals added
    later still show, and copies that chain into every render's context, which costs far more than
    copying a dict (three renders per client message, one per page). Flask lets globals be added
    only while the app is set up (``add_template_global`` refuses once it served a request), and
    the app loads no template before, so a dict taken at load time misses nothing."""

    def make_globals(self, d):
        return {**self.globals, **(d or {})}


def init_app(app) -> None:
    @app.context_processor
    def layout_context():
        return {
            "languages": current_app.config["LANGUAGES"],
            "current_locale": str(get_locale()),
            "poll_seconds": current_app.config["POLL_INTERVAL_SECONDS"],
            "refresh_rounds": current_app.config["PAGE_REFRESH_ROUNDS"],
            "max_message_length": current_app.config["MESSAGE_MAX_LENGTH"],
        }

    display_zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])

    def local(value: datetime) -> datetime:
        """Stored times are UTC (naive): shown in the viewer's time zone (their account's), else
        the display time zone."""
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(
            viewer_zone() or display_zone)

    @app.template_filter("when")
    def when(value):
        # The wall-clock time, without its zone: two aware datetimes of one instant in two zones are
        # equal, and the memo would give one zone's text for the other.
        return _short_datetime(local(value).replace(second=0, microsecond=0, tzinfo=None),
                               str(get_locale())) if value else ""

    @app.template_filter("day")
    def day(value):
        return format_date(value, "medium") if value else ""

    @app.template_filter("weekday")
    def weekday(value):
        """A date as a chart's axis shows it: "Mon 7"."""
        return format_date(value, "EEE d") if value else ""

    @app.template_filter("rev")
    def rev(value: datetime) -> str:
        """A time as digits that sort like it (seconds, then microseconds on six digits): the
        version of a list entry, compared by the page (``data-rev``)."""
        return f"{whole_seconds(value)}{value.microsecond:06d}"

    @app.template_filter("time")
    def time_only(value):
        # "HH:mm" reads the same in every language: no need for Babel's pattern formatting,
        # which costs more than the rest of a message bubble's rendering.
        return local(value).strftime("%H:%M") if value else ""

    @app.template_global()
    def avatar_url(profile):
        """A profile's picture: its upload, or the default one. Lists and pushes show the same few
        again and again, and ``url_for`` costs more than the rest of a list item: an address only
        changes with the file name and the application's mount point."""
        return _avatar_url(request.script_root, profile.avatar_filename)

    @app.template_global()
    def photo_url(photo, variant: str | None = None) -> str:
        """A photo's address, the one place that builds them: its figure (a fragment), or one of
        the sizes made from it (``storage.VARIANTS``); access is checked at each request."""
        if variant is None:
            return url_for("chat.photo", photo_id=photo.id)
        return url_for("chat.photo_file", photo_id=photo.id, variant=variant)

    @app.template_global()
    def url_for_id(endpoint: str, **value) -> str:
        """``url_for(endpoint, name=id)`` for one integer id. Lists render one address per entry
        (200 in a moderator's list), and ``url_for`` costs more than the rest of an entry: the
        address around the id is built once per endpoint and mount point."""
        (name, ident), = value.items()
        before, after = _id_url_pattern(request.script_root, endpoint, name)
        return f"{before}{int(ident)}{after}"

    @app.template_global()
    def role_label(role) -> str:
        """A role as people read it, in their language (the stored value is a code)."""
        return str(_ROLE_LABELS[role])

    @app.template_global()
    def reason_label(reason) -> str:
        """Why an assignment changed (``ChangeReason``, or its stored value), in the reader's language."""
        value = getattr(reason, "value", reason)
        return str(REASON_LABELS.get(value, value))

    @app.template_global()
    def lock_label(lock_type: str) -> str:
        """A profile lock's type or a client lock's reason, in the reader's language."""
        return str(LOCK_LABELS.get(lock_type, lock_type))

    @app.template_global()
    def conflict_label(kind: str) -> str:
        """An assignment conflict's kind, in the reader's language."""
        return str(CONFLICT_LABELS.get(kind, kind))

    @app.template_global()
    def moderation_action_label(action: str) -> str:
        """A line of the moderation log's action, in the reader's language."""
        return str(MODERATION_ACTION_LABELS.get(action, action))

    @app.template_global()
    def filter_label(value: str) -> str:
        """A content filter rule's kind, language or action, in the reader's language."""
        return str(FILTER_LABELS.get(value, value))

    @app.template_global()
    def sanction_label(kind: str) -> str:
        """A sanction's kind (ban, mute), in the reader's language."""
        return str(SANCTION_LABELS.get(kind, kind))

    @app.template_global()
    def report_kind_label(kind: str) -> str:
        """What a report is about (a message, a profile, a client), in the reader's language."""
        return str(REPORT_KIND_LABELS.get(kind, kind))

    @app.template_global()
    def report_reason_label(reason: str) -> str:
        """Why something was reported, in the reader's language."""
        return str(REPORT_REASON_LABELS.get(reason, reason))

    @app.template_global()
    def report_state_label(state: str) -> str:
        """A report's state (open, decided), in the reader's language."""
        return str(REPORT_STATE_LABELS.get(state, state))

    @app.template_global()
    def report_decision_label(decision: str) -> str:
        """An admin's decision on a report, in the reader's language."""
        return str(REPORT_DECISION_LABELS.get(decision, decision))

    @app.template_global()
    def report_outcome_label(decision: str) -> str:
        """A decision as its reporter reads it: action taken, or none."""
        return str(REPORT_OUTCOME_LABELS.get(decision, decision))

    @app.template_global()
    def notification_badge_count() -> int:
        """The logged-in user's unread notifications (the bell), cached in Redis."""
        from flask_login import current_user

        from ..services import notifications

        return notifications.unread_count(current_user.id) if current_user.is_authenticated else 0

    @app.template_global()
    def notification_kind_label(kind: str) -> str:
        """What a kind of notification is about (the account page's mail choices)."""
        return str(NOTIFICATION_KIND_LABELS.get(kind, kind))

    @app.template_global()
    def ticket_kind_label(kind: str) -> str:
        return str(TICKET_KIND_LABELS.get(kind, kind))

    @app.template_global()
    def ticket_state_label(state: str) -> str:
        return str(TICKET_STATE_LABELS.get(state, state))

    @app.template_global()
    def ticket_priority_label(priority: str) -> str:
        return str(TICKET_PRIORITY_LABELS.get(priority, priority))

    @app.template_global()
    def ticket_action_label(action: str) -> str:
        """A change of a ticket (its history, the mails and notifications telling it)."""
        return str(TICKET_ACTION_LABELS.get(action, action))

    @app.template_global()
    def job_label(what: str, value) -> str:
        """A background job's queue, status, worker state or alert, in the reader's language."""
        value = str(getattr(value, "value", value) or "")
        return str(JOB_LABELS.get(what, {}).get(value, value))

    @app.template_global()
    def answering_lock(conversation):
        """The running "answering" lock of the conversation's moderator on its profile, if any
        (lists, panels and pushes load the profile's lock with the conversation)."""
        lock = conversation.profile_lock
        if (conversation.assigned_moderator_id is None or lock is None or lock.lock_type != ANSWERING
                or lock.moderator_id != conversation.assigned_moderator_id or lock.expires_at < utcnow()):
            return None
        return lock


_ROLE_LABELS = {Role.CLIENT: _l("Client"), Role.MODERATOR: _l("Moderator"), Role.ADMIN: _l("Admin")}

# Labels of stored codes, by stored value: one per value of ``ChangeReason``, of
# ``models.PROFILE_LOCK_TYPES`` and ``models.CLIENT_LOCK_REASONS``, of ``models.CONFLICT_KINDS``,
# ``models.SANCTION_KINDS`` and ``models.MODERATION_ACTIONS``
# (tests/test_translations.py checks that none is missing and each is translated).
REASON_LABELS = {
    ChangeReason.NEW.value: _l("First assignment"),
    ChangeReason.QUEUE.value: _l("Waiting queue"),
    ChangeReason.BALANCE.value: _l("Load balancing"),
    ChangeReason.INACTIVITY.value: _l("Moderator inactive"),
    ChangeReason.DISCONNECT.value: _l("Moderator unavailable"),
    ChangeReason.MANUAL.value: _l("Reassigned by an admin"),
}
LOCK_LABELS = {
    "assignment": _l("assignment"),
    "answering": _l("answering"),
    "approach": _l("client approach"),
}
CONFLICT_LABELS = {
    "claim_race": _l("Claimed twice at once"),
    "double_approach": _l("Client approached by two moderators"),
    "held_by_offline": _l("Held by an offline moderator"),
    "held_by_disabled": _l("Held by a disabled moderator"),
}
SANCTION_LABELS = {"ban": _l("Ban"), "mute": _l("Mute")}
# ``models.FILTER_KINDS``, ``FILTER_ACTIONS`` and ``FILTER_LANGUAGES`` (no value is in two of them)
FILTER_LABELS = {
    "words": _l("Word list"), "pattern": _l("Pattern"),
    "block": _l("Block"), "mask": _l("Mask"), "flag": _l("Flag for review"),
    "all": _l("All languages"), "en": _l("English"), "fr": _l("French"), "de": _l("German"), "es": _l("Spanish"),
}
MODERATION_ACTION_LABELS = {
    "ban": _l("Banned"),
    "unban": _l("Ban lifted"),
    "mute": _l("Muted"),
    "unmute": _l("Mute lifted"),
    "sanction_ended": _l("Ban or mute ended"),
    "warn": _l("Warned"),
    "filter_blocked": _l("Message blocked by a filter"),
    "filter_masked": _l("Message masked by a filter"),
    "filter_flagged": _l("Message flagged by a filter"),
    "report_decided": _l("Report decided"),
    "account_disabled": _l("Account disabled"),
    "account_enabled": _l("Account enabled"),
    "manual_reassignment": _l("Reassigned by hand"),
    "forced_unlock": _l("Profile unlocked by force"),
    "role_promoted": _l("Role raised"),
    "role_demoted": _l("Role lowered"),
}


REPORT_KIND_LABELS = {"message": _l("a message"), "profile": _l("a profile"), "client": _l("a client")}
REPORT_REASON_LABELS = {
    "spam": _l("Spam"),
    "harassment": _l("Harassment"),
    "inappropriate": _l("Inappropriate content"),
    "scam": _l("Scam or fraud"),
    "other": _l("Something else"),
}
REPORT_STATE_LABELS = {"open": _l("Open"), "decided": _l("Decided")}
REPORT_DECISION_LABELS = {
    "dismiss": _l("Dismissed"),
    "upheld": _l("Upheld"),
    "warn": _l("Client warned"),
    "mute": _l("Client muted"),
    "ban": _l("Client banned"),
}
REPORT_OUTCOME_LABELS = {
    "dismiss": _l("no action was taken"),
    "upheld": _l("action was taken"),
    "warn": _l("action was taken"),
    "mute": _l("action was taken"),
    "ban": _l("action was taken"),
}

NOTIFICATION_KIND_LABELS = {
    "reply": _l("Replies in my conversations"),
    "work_assigned": _l("Conversations given to me while I am away"),
    "round_called": _l("Calls to come and answer waiting messages"),
    "report_outcome": _l("Outcomes of my reports"),
    "ticket": _l("My support tickets"),
    "job_failed": _l("Failed background jobs"),
    "export_ready": _l("Exports ready to download"),
}
TICKET_KIND_LABELS = {
    "problem": _l("A problem"),
    "appeal": _l("An appeal of a ban or mute"),
    "conversation": _l("A report about a conversation"),
}
TICKET_STATE_LABELS = {
    "open": _l("Open"),
    "waiting": _l("Waiting for the opener's answer"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
}
TICKET_PRIORITY_LABELS = {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"), "urgent": _l("Urgent")}
TICKET_ACTION_LABELS = {
    "created": _l("opened"),
    "assigned": _l("assigned"),
    "status": _l("status changed"),
    "priority": _l("priority changed"),
    "commented": _l("new comment"),
}

JOB_LABELS = {
    "queue": {"high": _l("high priority"), "default": _l("normal priority"), "low": _l("low priority")},
    "status": {"queued": _l("queued"), "started": _l("running"), "finished": _l("finished"), "failed": _l("failed"),
               "deferred": _l("deferred"), "scheduled": _l("scheduled"), "stopped": _l("stopped"),
               "canceled": _l("cancelled")},
    "worker": {"idle": _l("idle"), "busy": _l("busy"), "started": _l("starting"), "suspended": _l("suspended")},
    "alert": {"wait": _l("a job waited longer than the target"), "run": _l("a job ran longer than the target"),
              "failures": _l("more jobs failed than the target allows")},
}

_ID_MARK = 918273645546372819  # an id no table reaches, found again in the address built with it


@lru_cache(maxsize=256)
def _id_url_pattern(script_root: str, endpoint: str, name: str) -> tuple[str, str]:
    before, _, after = url_for(endpoint, **{name: _ID_MARK}).partition(str(_ID_MARK))
    return before, after


@lru_cache(maxsize=4096)
def _avatar_url(script_root: str, filename: str | None) -> str:
    """Built in the request that first needs it; the same for every request under ``script_root``."""
    return url_for("chat.avatar", filename=filename) if filename else url_for("static", filename="img/avatar.svg")


@lru_cache(maxsize=4096)
def _short_datetime(value: datetime, locale: str) -> str:
    """Babel's "short" date and time (to the minute): pushes and lists show the same few times
    again and again, and formatting one costs more than rendering the fragment around it."""
    return babel_dates.format_datetime(value, "short", locale=locale)
