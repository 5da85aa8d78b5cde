"""Support tickets as their openers (clients and moderators) see them: their list, a new ticket,
a ticket's page with its public comments and history, commenting and closing."""
from __future__ import annotations

from functools import lru_cache, wraps

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from limits import parse_many

from ...clock import utcnow
from ...database import write_transaction
from ...extensions import limiter
from ...models import TICKET_KINDS, Role
from ...services import ticket_lists, tickets
from ...jobs.photos import enqueue_photo
from ...services.errors import FileRefused, TooMany, ValidationError
from ...services.photos import uploads
from ...services.photos.storage import storage_from
from ...web.auth import role_required
from ..params import optional_id, uploaded_file
from . import bp

openers_only = role_required(Role.CLIENT, Role.MODERATOR)


@lru_cache(maxsize=8)
def _windows(text: str):
    return tuple(parse_many(text))


def tickets_limited(view):
    """At most ``RATELIMIT_TICKETS`` tickets opened per account; a refused form counts for nothing."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_app.config["RATELIMIT_ENABLED"]:
            return view(*args, **kwargs)
        prefix, who = current_app.config["RATELIMIT_KEY_PREFIX"], f"user:{current_user.id}"
        windows = _windows(current_app.config["RATELIMIT_TICKETS"])
        if not all(limiter.limiter.test(w, prefix, "tickets", who) for w in windows):
            raise TooMany(_l("You opened many tickets lately. Add to one of them, or try again later."))
        response = make_response(view(*args, **kwargs))
        if response.status_code < 400:
            for window in windows:
                limiter.limiter.hit(window, prefix, "tickets", who)
        return response

    return wrapped


def _refuse_oversized() -> None:
    """A request larger than any ticket form can be is refused whole (413), never shown back."""
    with_file = request.mimetype == "multipart/form-data"
    if (request.content_length or 0) > tickets.Limits.from_config(current_app.config).form_bytes_max(with_file):
        abort(413)


@bp.route("/support")
@openers_only
def support_list():
    page = optional_id(request.args.get("page")) or 1
    return render_template("tickets/mine.html", found=ticket_lists.my_tickets(current_user, page))


def _new_form(values, status: int = 200):
    limits = tickets.Limits.from_config(current_app.config)
    return render_template("tickets/new.html", kinds=TICKET_KINDS, values=values, limits=limits,
                           conversations=tickets.linkable_conversations(current_user),
                           sanctions=tickets.appealable_sanctions(current_user)), status


@bp.route("/support/new")
@openers_only
def support_new():
    kind = request.args.get("kind")
    return _new_form({"kind": kind if kind in TICKET_KINDS else "problem",
                      "conversation_id": optional_id(request.args.get("conversation_id")),
                      "sanction_id": optional_id(request.args.get("sanction_id"))})


@bp.route("/support/new", methods=["POST"])
@openers_only
@tickets_limited
def support_create():
    _refuse_oversized()
    form = request.form
    config = current_app.config
    try:
        ticket, photo_id = uploads.with_upload(
            uploaded_file(request.files, "photo", config["PHOTO_MAX_BYTES"]), storage_from(config),
            uploads.Limits.from_config(config),
            lambda photo: tickets.open_ticket(current_user, form.get("kind", ""), form.get("subject", ""),
                                              form.get("body", ""), now=utcnow(),
                                              conversation_id=optional_id(form.get("conversation_id")),
                                              sanction_id=optional_id(form.get("sanction_id")), photo=photo))
    except (ValidationError, FileRefused) as exc:
        flash(str(exc.message), "error")
        return _new_form(form, exc.status_code)
    if photo_id:
        enqueue_photo(photo_id)  # after the commit: the job finds the photo
    flash(_("Your ticket is open. We will answer you here."), "success")
    return redirect(url_for("chat.support_ticket", ticket_id=ticket.id))


def _ticket_page(ticket_id: int, draft: str = "", status: int = 200):
    return render_template("tickets/ticket.html", view=tickets.ticket_page(current_user, ticket_id), draft=draft,
                           comment_max=current_app.config["TICKET_COMMENT_MAX"]), status


@bp.route("/support/<int:ticket_id>")
@openers_only
def support_ticket(ticket_id: int):
    return _ticket_page(ticket_id)


@bp.route("/support/<int:ticket_id>/comments", methods=["POST"])
@openers_only
def support_comment(ticket_id: int):
    _refuse_oversized()
    body = request.form.get("body", "")
    config = current_app.config
    try:
        _written, photo_id = uploads.with_upload(
            uploaded_file(request.files, "photo", config["PHOTO_MAX_BYTES"]), storage_from(config),
            uploads.Limits.from_config(config),
            lambda photo: tickets.comment(current_user, ticket_id, body, utcnow(), photo=photo))
    except (ValidationError, FileRefused) as exc:
        flash(str(exc.message), "error")
        return _ticket_page(ticket_id, body, exc.status_code)
    if photo_id:
        enqueue_photo(photo_id)
    flash(_("Your comment was added."), "success")
    return redirect(url_for("chat.support_ticket", ticket_id=ticket_id))


@bp.route("/support/<int:ticket_id>/close", methods=["POST"])
@openers_only
def support_close(ticket_id: int):
    try:
        with write_transaction():
            tickets.set_status(current_user, ticket_id, "closed", utcnow())
    except ValidationError as exc:
        flash(str(exc.message), "error")
        return _ticket_page(ticket_id, status=exc.status_code)
    flash(_("The ticket is closed."), "success")
    return redirect(url_for("chat.support_ticket", ticket_id=ticket_id))
