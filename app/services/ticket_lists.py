"""Lists of support tickets: the ones a person opened, and the admins' queue with its filters
(state, kind, age, assignee, order), a page at a time. The rules are ``services.tickets``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import TICKET_KINDS, TICKET_STATES, Ticket, User
from .tickets import Limits, limits_or_default, require_admin

# The admins' queue: "active" is open or waiting.
QUEUE_STATES = ("active", *TICKET_STATES, "all")
QUEUE_ORDERS = ("updated", "oldest")
QUEUE_AGES_HOURS = (1, 4, 24, 72, 168)


@dataclass(frozen=True)
class Listing:
    tickets: list[Ticket]
    page: int
    has_next: bool
    total: int


def my_tickets(actor: User, page: int = 1, limits: Limits | None = None) -> Listing:
    """The tickets the actor opened, the latest changed first."""
    query = select(Ticket).where(Ticket.opener_id == actor.id)
    return _page(query, (Ticket.updated_at.desc(), Ticket.id.desc()), page, limits_or_default(limits).page_size)


@dataclass(frozen=True)
class QueueFilters:
    """The admins' queue filters; anything unknown falls back to the default."""
    state: str = "active"
    kind: str | None = None
    older_than_hours: int | None = None
    assignee: str = "anyone"  # anyone, me, nobody, or an admin's id as digits
    order: str = "updated"
    page: int = 1

    @classmethod
    def from_strings(cls, args) -> "QueueFilters":
        state = args.get("state") if args.get("state") in QUEUE_STATES else cls.state
        kind = args.get("kind") if args.get("kind") in TICKET_KINDS else None
        older = _small_int(args.get("older_than"))
        older = older if older in QUEUE_AGES_HOURS else None
        assignee = args.get("assignee") or cls.assignee
        if assignee not in ("anyone", "me", "nobody") and _small_int(assignee) is None:
            assignee = cls.assignee
        order = args.get("order") if args.get("order") in QUEUE_ORDERS else cls.order
        page = _small_int(args.get("page")) or 1
        return cls(state, kind, older, assignee, order, page)

    def as_args(self, **changes) -> dict:
        """The filters as query arguments (defaults left out), with ``changes``."""
        values = {"state": self.state, "kind": self.kind, "older_than": self.older_than_hours,
                  "assignee": self.assignee, "order": self.order, "page": self.page}
        values.update(changes)
        defaults = {"state": "active", "assignee": "anyone", "order": "updated", "page": 1}
        return {k: v for k, v in values.items() if v is not None and defaults.get(k) != v}


def _small_int(value) -> int | None:
    if not isinstance(value, str) or not value.isdigit() or len(value) > 9:
        return None
    return int(value)


def queue(actor: User | None, now: datetime, filters: QueueFilters = QueueFilters(),
          limits: Limits | None = None) -> Listing:
    """Every ticket for admins, filtered by state, kind, age and assignee, a page at a time."""
    require_admin(actor)
    query = select(Ticket)
    if filters.state == "active":
        query = query.where(Ticket.state.in_(("open", "waiting")))
    elif filters.state in TICKET_STATES:
        query = query.where(Ticket.state == filters.state)
    if filters.kind in TICKET_KINDS:
        query = query.where(Ticket.kind == filters.kind)
    if filters.older_than_hours:
        query = query.where(Ticket.created_at <= now - timedelta(hours=filters.older_than_hours))
    if filters.assignee == "me" and actor is not None:
        query = query.where(Ticket.assignee_id == actor.id)
    elif filters.assignee == "nobody":
        query = query.where(Ticket.assignee_id.is_(None))
    elif filters.assignee.isdigit():
        query = query.where(Ticket.assignee_id == int(filters.assignee))
    order = (Ticket.created_at, Ticket.id) if filters.order == "oldest" else (Ticket.updated_at.desc(), Ticket.id.desc())
    return _page(query, order, filters.page, limits_or_default(limits).page_size)


def _page(query, order, page: int, size: int) -> Listing:
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, page)
    rows = list(db.session.scalars(query.options(joinedload(Ticket.opener), joinedload(Ticket.assignee))
                                   .order_by(*order).offset((page - 1) * size).limit(size + 1)))
    return Listing(rows[:size], page, len(rows) > size, total)
