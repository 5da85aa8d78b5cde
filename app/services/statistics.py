"""How fast clients are answered, over a period (the reports page, the daily report mail,
``flask report``), and who is waiting or overloaded now.

A client's wait starts at their first message that no reply followed yet (two or three messages
in a row are one wait) and ends at the next reply in that conversation; it belongs to the
period in which it started and to the moderator who replied. The first response of a
conversation is the wait of its first client message. Waits still open at the end of the period
count as unanswered. Messages are read once, in order, a chunk at a time.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import String, func, select, type_coerce

from ..extensions import db
from ..models import Conversation, Message, NotificationRound, Role, User
from ..models.chat import Sender
from .percentiles import percentile
from .tickets import require_admin

# The waits' distribution: upper bounds in seconds (the last bucket is everything longer).
WAIT_BUCKETS = (60, 300, 900, 3600, 4 * 3600)
LOOKBACK = timedelta(days=1)  # messages read before the period: a wait started earlier is not this period's
CHUNK = 5000


class _Waits:
    """The percentiles of the waits a set of figures holds (``waits``: every wait ended;
    ``first_responses``: the first one of each new conversation; seconds)."""

    waits: list[float]
    first_responses: list[float]

    @property
    def response_p50(self) -> float | None:
        return percentile(self.waits, 0.5)

    @property
    def response_p90(self) -> float | None:
        return percentile(self.waits, 0.9)

    @property
    def first_response_p50(self) -> float | None:
        return percentile(self.first_responses, 0.5)

    @property
    def first_response_p90(self) -> float | None:
        return percentile(self.first_responses, 0.9)


@dataclass
class ModeratorFigures(_Waits):
    moderator_id: int
    name: str
    replies: int = 0
    waits: list[float] = field(default_factory=list)  # seconds, each wait this moderator ended
    first_responses: list[float] = field(default_factory=list)


@dataclass
class Day:
    date: date  # in the reader's time zone
    start: datetime  # naive UTC
    client_messages: int = 0
    replies: int = 0


@dataclass
class Statistics(_Waits):
    start: datetime
    end: datetime
    client_messages: int = 0
    replies: int = 0
    new_conversations: int = 0
    active_conversations: int = 0
    waits: list[float] = field(default_factory=list)
    first_responses: list[float] = field(default_factory=list)
    unanswered: int = 0  # waits started in the period and not over at its end
    days: list[Day] = field(default_factory=list)
    moderators: list[ModeratorFigures] = field(default_factory=list)
    rounds_sent: int = 0
    moderators_called: int = 0

    @property
    def wait_distribution(self) -> list[tuple[int | None, int]]:
        """(upper bound in seconds, None past the last; count) for every answered wait, then
        (-1, unanswered)."""
        counts = [0] * (len(WAIT_BUCKETS) + 1)
        for wait in self.waits:
            counts[next((i for i, bound in enumerate(WAIT_BUCKETS) if wait <= bound), len(WAIT_BUCKETS))] += 1
        return [*zip((*WAIT_BUCKETS, None), counts), (-1, self.unanswered)]


def _days(start: datetime, end: datetime, days: list[tuple[date, datetime]] | None) -> list[Day]:
    days = days or [((start + timedelta(days=i)).date(), start + timedelta(days=i))
                    for i in range(max(1, (end - start).days))]
    return [Day(d, s) for d, s in days if start <= s < end] or [Day(start.date(), start)]


def report(actor: User | None, start: datetime, end: datetime, days: list[tuple[date, datetime]] | None = None,
           answer_within: timedelta = timedelta(days=7)) -> Statistics:
    """The period [start, end) (naive UTC). ``days``: each day's date and start, in the reader's
    time zone (UTC days by default: ``period``). A wait of the period answered later than
    ``answer_within`` after its end counts as not answered: the messages read stop there, so an
    old period costs what a recent one does."""
    if actor is not None:
        require_admin(actor)
    stats = Statistics(start, end, days=_days(start, end, days))
    moderators: dict[int, ModeratorFigures] = {}
    _read_messages(stats, moderators, end + answer_within)
    names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(list(moderators)))).all())
    for figures in moderators.values():
        figures.name = names.get(figures.moderator_id, f"#{figures.moderator_id}")
    stats.moderators = sorted(moderators.values(), key=lambda m: (-m.replies, m.name))
    stats.new_conversations = db.session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.created_at >= start, Conversation.created_at < end)) or 0
    rounds = db.session.execute(select(NotificationRound.moderator_ids_notified).where(
        NotificationRound.sent_at >= start, NotificationRound.sent_at < end)).scalars().all()
    stats.rounds_sent = len(rounds)
    stats.moderators_called = sum(len(ids or ()) for ids in rounds)
    return stats


def _read_messages(stats: Statistics, moderators: dict[int, ModeratorFigures], read_until: datetime) -> None:
    start, end = stats.start, stats.end
    # Plain rows (no ORM loading, the sender as its stored text), streamed in chunks: a week of a
    # busy site is hundreds of thousands of rows (bench/statistics_page.py).
    messages, conversations = Message.__table__.c, Conversation.__table__.c
    rows = db.session.connection().execution_options(yield_per=CHUNK).execute(
        select(messages.conversation_id, type_coerce(messages.sender, String), messages.author_id,
               messages.created_at, conversations.created_at)
        .join(Conversation.__table__, conversations.id == messages.conversation_id)
        .where(messages.created_at >= start - LOOKBACK, messages.created_at < read_until)
        .order_by(messages.conversation_id, messages.created_at, messages.id))
    client = Sender.CLIENT.value
    day_starts = [day.start for day in stats.days]
    current, waiting_since, answered_once, active = None, None, False, set()
    for conversation_id, sender, author_id, created_at, conversation_created in rows:
        if conversation_id != current:
            _close(stats, waiting_since)
            current, waiting_since, answered_once = conversation_id, None, False
        in_period = start <= created_at < end
        from_client = sender == client
        if in_period:
            active.add(conversation_id)
            day = stats.days[max(0, bisect_right(day_starts, created_at) - 1)]
            if from_client:
                stats.client_messages += 1
                day.client_messages += 1
            else:
                stats.replies += 1
                day.replies += 1
                moderators.setdefault(author_id, ModeratorFigures(author_id, "")).replies += 1
        if from_client:
            waiting_since = waiting_since or created_at
            continue
        if waiting_since is not None and start <= waiting_since < end:
            wait = (created_at - waiting_since).total_seconds()
            figures = moderators.setdefault(author_id, ModeratorFigures(author_id, ""))
            stats.waits.append(wait)
            figures.waits.append(wait)
            if not answered_once and start <= conversation_created < end:
                stats.first_responses.append(wait)
                figures.first_responses.append(wait)
        answered_once, waiting_since = True, None
    _close(stats, waiting_since)
    stats.active_conversations = len(active)


def _close(stats: Statistics, waiting_since: datetime | None) -> None:
    """A conversation read to its end: a wait still open that started in the period is unanswered."""
    if waiting_since is not None and stats.start <= waiting_since < stats.end:
        stats.unanswered += 1


# -- now ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WaitingClient:
    conversation_id: int
    client_name: str
    profile_name: str
    moderator_name: str | None
    waiting_since: datetime


@dataclass(frozen=True)
class ModeratorLoad:
    moderator_id: int
    name: str
    online: bool
    held: int  # conversations held that are active
    waiting: int  # of them, waiting for a reply
    oldest_wait: datetime | None
    overloaded: bool


def waiting_clients(actor: User, limit: int) -> list[WaitingClient]:
    """The clients waiting for a reply now, longest first."""
    require_admin(actor)
    client, moderator = db.aliased(User), db.aliased(User)
    from ..models import Profile

    rows = db.session.execute(
        select(Conversation.id, client.display_name, Profile.name, moderator.display_name,
               Conversation.awaiting_reply_since)
        .join(client, client.id == Conversation.client_id).join(Profile, Profile.id == Conversation.profile_id)
        .outerjoin(moderator, moderator.id == Conversation.assigned_moderator_id)
        .where(Conversation.awaiting_reply_since.is_not(None))
        .order_by(Conversation.awaiting_reply_since).limit(limit)).all()
    return [WaitingClient(*row) for row in rows]


def moderator_loads(actor: User, now: datetime, active_since: datetime, overloaded_waiting: int,
                    overloaded_wait_seconds: int) -> list[ModeratorLoad]:
    """Every active moderator's held and waiting conversations; overloaded when more than
    ``overloaded_waiting`` wait, or one waited longer than ``overloaded_wait_seconds``."""
    require_admin(actor)
    waiting = func.sum(db.case((Conversation.awaiting_reply_since.is_not(None), 1), else_=0))
    rows = db.session.execute(
        select(User.id, User.display_name, User.is_online, func.count(Conversation.id), waiting,
               func.min(Conversation.awaiting_reply_since))
        .outerjoin(Conversation, db.and_(Conversation.assigned_moderator_id == User.id, db.or_(
            Conversation.awaiting_reply_since.is_not(None), Conversation.last_message_at >= active_since)))
        .where(User.role == Role.MODERATOR, User.active.is_(True))
        .group_by(User.id, User.display_name, User.is_online)).all()
    loads = []
    for moderator_id, name, online, held, waiting_count, oldest in rows:
        waiting_count = int(waiting_count or 0)
        late = oldest is not None and (now - oldest).total_seconds() > overloaded_wait_seconds
        loads.append(ModeratorLoad(moderator_id, name, bool(online), int(held or 0), waiting_count, oldest,
                                   waiting_count > overloaded_waiting or late))
    return sorted(loads, key=lambda m: (not m.overloaded, -m.waiting, m.name))


def period(last_day: date, days: int, zone) -> tuple[datetime, datetime, list[tuple[date, datetime]]]:
    """The ``days`` days ending with ``last_day`` in time zone ``zone``: the period's start and
    end, and each day's date and start, in naive UTC (stored times)."""
    from datetime import time as clock_time
    from datetime import timezone

    dates = [last_day - timedelta(days=days - 1 - i) for i in range(days + 1)]
    starts = [datetime.combine(d, clock_time(0), zone).astimezone(timezone.utc).replace(tzinfo=None) for d in dates]
    return starts[0], starts[-1], list(zip(dates[:-1], starts[:-1]))
