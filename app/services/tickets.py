"""Support tickets: clients and moderators ask admins for help (a problem, an appeal of a ban or
mute, a report about a conversation); admins assign, answer, change state and priority.

Who may do what:
- clients and moderators open tickets and read their own: the public comments and events only;
- the opener comments publicly and closes their own ticket; their comment on a ticket waiting for
  them puts it back to "open";
- admins (and the command line, ``actor`` None) read every ticket with its internal notes, assign,
  comment publicly or internally, move the state along ``MOVES`` and set the priority.

Invariants:
- a ticket that is not the actor's is not found (404), whether it exists or not;
- the state moves only along ``MOVES`` (the opener: only to "closed"), by a compare-and-set on the
  state read, so two admins moving it at once cannot both succeed; ``closed_at`` is set exactly
  while the state is "closed";
- every change writes one ``TicketEvent`` and moves ``updated_at`` in the same transaction; its
  notifications are written there too, its mails follow the commit (``events.TicketChanged``,
  ``jobs.tickets``). Internal events (notes, assignments, priorities) reach admins only.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..models import (TICKET_KINDS, TICKET_PRIORITIES, TICKET_STATES, Conversation, Photo, Role, Sanction, Ticket,
                      TicketComment, TicketEvent, User)
from . import events, notifications
from .photos import records
from .photos.records import NewPhoto
from .errors import Forbidden, NotFound, ValidationError

# The moves an admin may make; the opener may only close (from any state but "closed").
MOVES: dict[str, frozenset[str]] = {
    "open": frozenset({"waiting", "resolved", "closed"}),
    "waiting": frozenset({"open", "resolved", "closed"}),
    "resolved": frozenset({"open", "closed"}),
    "closed": frozenset({"open"}),
}
# Changes only admins see (and are told about).
INTERNAL_ACTIONS = ("assigned", "priority")


class MoveRefused(ValidationError):
    """A state change the table of moves does not allow (or the ticket moved meanwhile)."""
    status_code = 409


@dataclass(frozen=True)
class Limits:
    subject_max: int
    body_max: int
    comment_max: int
    page_size: int
    photo_max: int = 0  # an attached image's bytes (``PHOTO_MAX_BYTES``)

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(config["TICKET_SUBJECT_MAX"], config["TICKET_BODY_MAX"], config["TICKET_COMMENT_MAX"],
                   config["TICKETS_PAGE_SIZE"], config["PHOTO_MAX_BYTES"])

    def form_bytes_max(self, with_file: bool) -> int:
        """The most a ticket's form can weigh: its longest texts, 4 bytes a character, each byte
        percent-encoded, an attached image when the form sends files, and room for the other
        fields. A larger request is refused (413)."""
        return ((self.subject_max + max(self.body_max, self.comment_max)) * 4 * 3
                + (self.photo_max if with_file else 0) + 8192)


def limits_or_default(limits: Limits | None) -> Limits:
    return limits or Limits.from_config(current_app.config)


def is_admin(actor: User | None) -> bool:
    """An admin, or the command line (``None``)."""
    return actor is None or actor.role == Role.ADMIN


def link_for(user: User, ticket_id: int) -> str:
    """The path of the ticket's page as ``user`` reads it (admins: the admin page)."""
    return f"/admin/tickets/{ticket_id}" if user.role == Role.ADMIN else f"/support/{ticket_id}"


# -- opening -----------------------------------------------------------------------------------

def open_ticket(actor: User, kind: str, subject: str, body: str, *, now: datetime, conversation_id: int | None = None,
                sanction_id: int | None = None, limits: Limits | None = None, photo: NewPhoto | None = None) -> Ticket:
    """A client or a moderator opens a ticket. A report about a conversation names one the actor
    may see (a client's own; one a moderator holds now); an appeal may name a sanction of the actor.
    ``photo``: an image attached to the description (stored by ``photos.uploads.with_upload``)."""
    limits = limits_or_default(limits)
    if actor.role not in (Role.CLIENT, Role.MODERATOR):
        raise Forbidden(_l("Only clients and moderators open support tickets."))
    if kind not in TICKET_KINDS:
        raise ValidationError(_l("Choose what the ticket is about."))
    subject = _text(subject, limits.subject_max, _l("Write a subject."),
                    _l("The subject is at most %(n)d characters long.", n=limits.subject_max))
    body = _text(body, limits.body_max, _l("Describe what happened."),
                 _l("The description is at most %(n)d characters long.", n=limits.body_max))
    linked_conversation = linked_sanction = None
    if kind == "conversation":
        if conversation_id is None:
            raise ValidationError(_l("Choose the conversation the ticket is about."))
        linked_conversation = _conversation_seen_by(actor, conversation_id).id
    if kind == "appeal" and sanction_id is not None:
        sanction = db.session.get(Sanction, sanction_id)
        if sanction is None or sanction.client_id != actor.id:
            raise NotFound(_l("No such ban or mute."))
        linked_sanction = sanction.id
    ticket = Ticket(opener_id=actor.id, kind=kind, subject=subject, body=body, state="open", priority="normal",
                    conversation_id=linked_conversation, sanction_id=linked_sanction, created_at=now, updated_at=now)
    db.session.add(ticket)
    db.session.flush()
    if photo is not None:
        records.attach_to_ticket(ticket.id, None, actor.id, photo, now)
    _record(ticket, actor, "created", {}, now)
    return ticket


def _text(value: str | None, maximum: int, empty, too_long) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(empty)
    if len(value) > maximum:
        raise ValidationError(too_long)
    return value


def _conversation_seen_by(actor: User, conversation_id: int) -> Conversation:
    conversation = db.session.get(Conversation, conversation_id) if isinstance(conversation_id, int) else None
    owner = None
    if conversation is not None:
        owner = conversation.client_id if actor.role == Role.CLIENT else conversation.assigned_moderator_id
    if owner != actor.id:
        raise NotFound(_l("No such conversation."))
    return conversation


def linkable_conversations(actor: User, limit: int = 100) -> list[Conversation]:
    """The conversations a ticket of ``actor`` may be about: a client's own, those a moderator holds."""
    owner = Conversation.client_id if actor.role == Role.CLIENT else Conversation.assigned_moderator_id
    if actor.role not in (Role.CLIENT, Role.MODERATOR):
        return []
    return list(db.session.scalars(
        select(Conversation).options(joinedload(Conversation.profile), joinedload(Conversation.client))
        .where(owner == actor.id, Conversation.last_message_at.is_not(None))
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(limit)))


def appealable_sanctions(actor: User, limit: int = 20) -> list[Sanction]:
    """The bans and mutes of a client, newest first (what an appeal may name)."""
    if actor.role != Role.CLIENT:
        return []
    return list(db.session.scalars(select(Sanction).where(Sanction.client_id == actor.id)
                                   .order_by(Sanction.started_at.desc(), Sanction.id.desc()).limit(limit)))


# -- reading -----------------------------------------------------------------------------------

def _visible(actor: User | None, ticket_id: int) -> Ticket:
    """The ticket if the actor may see it; someone else's is not found, as a missing one."""
    ticket = db.session.get(Ticket, ticket_id) if isinstance(ticket_id, int) else None
    if ticket is None or not (is_admin(actor) or ticket.opener_id == actor.id):
        raise NotFound(_l("No such ticket."))
    return ticket


def require_admin(actor: User | None) -> None:
    if not is_admin(actor):
        raise Forbidden(_l("Only admins may do this."))


@dataclass(frozen=True)
class TicketPage:
    """A ticket as one reader sees it: internal notes and events only for admins."""
    ticket: Ticket
    comments: list[TicketComment]
    events: list[TicketEvent]
    people: dict[int, User]  # the users the events and the ticket name
    moves: tuple[str, ...]  # the states the reader may move it to
    conversation: Conversation | None
    sanction: Sanction | None
    photos: dict[int | None, list[Photo]]  # by comment id (None: the description's), those the reader may see

    @property
    def timeline(self) -> list[tuple[TicketEvent, TicketComment | None]]:
        """The events in order, each comment beside the event that added it."""
        by_id = {c.id: c for c in self.comments}
        return [(e, by_id.get(e.detail.get("comment_id"))) for e in self.events]


def ticket_page(actor: User | None, ticket_id: int) -> TicketPage:
    ticket = _visible(actor, ticket_id)
    admin = is_admin(actor)
    comments = select(TicketComment).options(joinedload(TicketComment.author)).where(
        TicketComment.ticket_id == ticket.id)
    history = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
    if not admin:
        comments = comments.where(TicketComment.internal.is_(False))
        history = history.where(TicketEvent.internal.is_(False))
    comments = list(db.session.scalars(comments.order_by(TicketComment.id)))
    history = list(db.session.scalars(history.order_by(TicketEvent.id)))
    ids = {ticket.opener_id, ticket.assignee_id} | {e.actor_id for e in history}
    if admin:
        ids |= {e.detail.get(k) for e in history if e.action == "assigned" for k in ("from", "to")}
    ids.discard(None)
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    conversation = sanction = None
    if ticket.conversation_id is not None:
        conversation = db.session.scalar(select(Conversation).options(
            joinedload(Conversation.profile), joinedload(Conversation.client)).where(
            Conversation.id == ticket.conversation_id))
    if ticket.sanction_id is not None:
        sanction = db.session.get(Sanction, ticket.sanction_id)
    shown = {None} | {c.id for c in comments}
    photos: dict[int | None, list[Photo]] = {}
    for photo in db.session.scalars(select(Photo).where(Photo.ticket_id == ticket.id).order_by(Photo.created_at)):
        if photo.ticket_comment_id in shown:
            photos.setdefault(photo.ticket_comment_id, []).append(photo)
    return TicketPage(ticket, comments, history, people, allowed_moves(actor, ticket), conversation, sanction,
                      photos)


def allowed_moves(actor: User | None, ticket: Ticket) -> tuple[str, ...]:
    """The states ``actor`` may move ``ticket`` to, in the order of ``TICKET_STATES``."""
    if is_admin(actor):
        allowed = MOVES[ticket.state]
    elif ticket.opener_id == actor.id and ticket.state != "closed":
        allowed = {"closed"}
    else:
        allowed = set()
    return tuple(s for s in TICKET_STATES if s in allowed)


def assignable_admins() -> list[User]:
    """The active admins a ticket may be given to."""
    return list(db.session.scalars(select(User).where(User.role == Role.ADMIN, User.active.is_(True))
                                   .order_by(User.display_name, User.id)))


# -- changes -----------------------------------------------------------------------------------

def assign(actor: User | None, ticket_id: int, admin_id: int | None, now: datetime) -> Ticket:
    """Give the ticket to an active admin, or to nobody (``None``). The same assignee: no change."""
    ticket = _visible(actor, ticket_id)
    require_admin(actor)
    if admin_id is not None:
        admin = db.session.get(User, admin_id) if isinstance(admin_id, int) else None
        if admin is None or admin.role != Role.ADMIN or not admin.active:
            raise ValidationError(_l("Tickets are assigned to active admins only."))
    if ticket.assignee_id == admin_id:
        return ticket
    before = ticket.assignee_id
    ticket.assignee_id = admin_id
    ticket.updated_at = now
    _record(ticket, actor, "assigned", {"from": before, "to": admin_id}, now)
    return ticket


def comment(actor: User, ticket_id: int, body: str, now: datetime, internal: bool = False,
            limits: Limits | None = None, photo: NewPhoto | None = None) -> TicketComment:
    """A public comment (the opener or an admin) or an internal note (admins only). The opener's
    comment on a ticket waiting for them puts it back to "open"; a closed ticket takes no more
    comments from its opener."""
    limits = limits_or_default(limits)
    ticket = _visible(actor, ticket_id)
    admin = is_admin(actor)
    if internal and not admin:
        raise Forbidden(_l("Only admins write internal notes."))
    if not admin and ticket.state == "closed":
        raise MoveRefused(_l("This ticket is closed. Open a new one if you need more help."))
    body = _text(body, limits.comment_max, _l("Write a comment."),
                 _l("The comment is at most %(n)d characters long.", n=limits.comment_max))
    note = TicketComment(ticket_id=ticket.id, author_id=actor.id, body=body, internal=bool(internal), created_at=now)
    db.session.add(note)
    db.session.flush()
    if photo is not None:
        records.attach_to_ticket(ticket.id, note.id, actor.id, photo, now)
    detail = {"comment_id": note.id}
    if not admin and ticket.state == "waiting":
        _move(ticket, "open", now)
        detail.update({"from": "waiting", "to": "open"})
    ticket.updated_at = now
    _record(ticket, actor, "commented", detail, now, internal=bool(internal))
    return note


def set_status(actor: User | None, ticket_id: int, state: str, now: datetime, reason: str = "") -> Ticket:
    """Move the ticket to ``state`` along ``MOVES`` (the opener: only close it)."""
    ticket = _visible(actor, ticket_id)
    if state not in TICKET_STATES:
        raise ValidationError(_l("Choose a state."))
    if state not in allowed_moves(actor, ticket):
        if not is_admin(actor) and state != "closed":
            raise Forbidden(_l("Only admins may do this."))
        raise MoveRefused(_l("A ticket cannot go from “%(from)s” to “%(to)s”.", **{"from": ticket.state, "to": state}))
    reason = (reason or "").strip()[:500]
    before = ticket.state
    _move(ticket, state, now)
    ticket.updated_at = now
    detail = {"from": before, "to": state}
    if reason:
        detail["reason"] = reason
    _record(ticket, actor, "status", detail, now)
    return ticket


def set_priority(actor: User | None, ticket_id: int, priority: str, now: datetime) -> Ticket:
    """Admins triage: the priority changes (the same one: no change)."""
    ticket = _visible(actor, ticket_id)
    require_admin(actor)
    if priority not in TICKET_PRIORITIES:
        raise ValidationError(_l("Choose a priority."))
    if ticket.priority == priority:
        return ticket
    before = ticket.priority
    ticket.priority = priority
    ticket.updated_at = now
    _record(ticket, actor, "priority", {"from": before, "to": priority}, now)
    return ticket


def _move(ticket: Ticket, state: str, now: datetime) -> None:
    """Compare-and-set on the state read: a ticket another request moved meanwhile is refused."""
    moved = db.session.execute(
        update(Ticket).where(Ticket.id == ticket.id, Ticket.state == ticket.state)
        .values(state=state, closed_at=now if state == "closed" else None)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise MoveRefused(_l("Someone changed this ticket meanwhile. Reload the page and try again."))
    set_committed_value(ticket, "state", state)
    set_committed_value(ticket, "closed_at", now if state == "closed" else None)


def _record(ticket: Ticket, actor: User | None, action: str, detail: dict, now: datetime,
            internal: bool | None = None) -> TicketEvent:
    """The change's event, naming who it concerns (``"told"``: decided now, not when its mails
    go), and their notifications; its mails follow the commit."""
    internal = action in INTERNAL_ACTIONS if internal is None else internal
    event = TicketEvent(ticket_id=ticket.id, actor_id=actor.id if actor is not None else None, action=action,
                        detail=detail, internal=internal, created_at=now)
    told = concerned(ticket, event)
    event.detail = {**detail, "told": [u.id for u in told]}
    db.session.add(event)
    db.session.flush()
    params = {"ticket_id": ticket.id, "subject": ticket.subject, "action": action,
              "state": detail.get("to") if action in ("status", "commented") else None}
    for user in told:
        notifications.notify(user.id, "ticket", f"ticket:{ticket.id}", now=now, params=params,
                             link=link_for(user, ticket.id))
    events.record(events.TicketChanged(event.id))
    return event


def concerned(ticket: Ticket, event: TicketEvent) -> list[User]:
    """Who is told about ``event``: the opener (public events), the assignee (and, for an
    assignment, the one it was taken from), every active admin while nobody holds a ticket its
    opener changed; never the actor, nor a disabled account."""
    ids: set[int] = set()
    if not event.internal:
        ids.add(ticket.opener_id)
    if ticket.assignee_id is not None:
        ids.add(ticket.assignee_id)
    elif event.actor_id == ticket.opener_id:
        ids.update(notifications.admins())
    if event.action == "assigned" and event.detail.get("from"):
        ids.add(event.detail["from"])
    ids.discard(event.actor_id)
    return _told(ticket, ids, event.internal)


def _told(ticket: Ticket, ids, internal: bool) -> list[User]:
    """The active users among ``ids`` who may read the event: admins, and the opener unless internal."""
    if not ids:
        return []
    people = db.session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True)).order_by(User.id))
    return [u for u in people if u.role == Role.ADMIN or (u.id == ticket.opener_id and not internal)]


@dataclass(frozen=True)
class EventToTell:
    """What a ticket event's mail tells: the event, its ticket, its comment, who acted and, for an
    assignment, the new assignee."""
    event: TicketEvent
    ticket: Ticket
    note: TicketComment | None
    actor: User | None
    assignee: User | None
    told: list[User]  # who the event concerned when it happened, still active (and still allowed)


def event_to_tell(event_id: int) -> EventToTell | None:
    """The event with what its mail names, or None when it is gone."""
    event = db.session.get(TicketEvent, event_id)
    if event is None:
        return None
    ticket = db.session.get(Ticket, event.ticket_id)
    note = db.session.get(TicketComment, event.detail["comment_id"]) if event.detail.get("comment_id") else None
    actor = db.session.get(User, event.actor_id) if event.actor_id is not None else None
    assignee = db.session.get(User, event.detail["to"]) if event.action == "assigned" and event.detail.get("to") else None
    told = _told(ticket, set(event.detail.get("told") or ()), event.internal)
    return EventToTell(event, ticket, note, actor, assignee, told)
