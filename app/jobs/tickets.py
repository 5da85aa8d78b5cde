"""A ticket's change mailed to its people (after the commit that wrote its ``TicketEvent``).

Each recipient's mail is rendered here, in their language, and sent by ``mail.send_email_once``
under the key ``ticket-event:<event>:<user>``: calling this twice for one event, or a retried
mail job, sends nothing more.
"""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from ..models import Role
from ..services import notifications, tickets


def enqueue_ticket_mails(event_id: int) -> int:
    """Mail the people ``event_id`` concerned when it happened (``tickets.concerned``: not the
    actor, internal events to admins only) who are still active and want ticket mails. Returns how
    many mails were enqueued."""
    from . import enqueue_email_once

    told = tickets.event_to_tell(event_id)
    if told is None:
        return 0
    event, ticket = told.event, told.ticket
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    enqueued = 0
    for user in told.told:
        if not notifications.wants_mail(user, "ticket"):
            continue
        with force_locale(user.locale):
            subject = _("Ticket #%(id)d: %(subject)s", id=ticket.id, subject=ticket.subject)
            context = {"user": user, "told": told, "ticket": ticket, "event": event,
                       "for_admin": user.role == Role.ADMIN, "link": base + tickets.link_for(user, ticket.id)}
            text = render_template("emails/ticket_event.txt", **context)
            html = render_template("emails/ticket_event.html", **context)
        enqueue_email_once(f"ticket-event:{event.id}:{user.id}", user.email, subject, text, html)
        enqueued += 1
    return enqueued
