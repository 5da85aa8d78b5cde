"""The admins' support tickets: the queue with its filters, a ticket's page with everything
(internal notes too), and the forms that assign, answer, move the state and set the priority."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...clock import utcnow
from ...database import write_transaction
from ...models import TICKET_KINDS, TICKET_PRIORITIES
from ...services import ticket_lists, tickets
from ...jobs.photos import enqueue_photo
from ...services.errors import FileRefused, ValidationError
from ...services.photos import uploads
from ...services.photos.storage import storage_from
from ..params import optional_id, uploaded_file
from . import bp


def _refuse_oversized() -> None:
    """A request larger than any ticket form can be is refused whole (413), never shown back."""
    with_file = request.mimetype == "multipart/form-data"
    if (request.content_length or 0) > tickets.Limits.from_config(current_app.config).form_bytes_max(with_file):
        abort(413)


@bp.route("/tickets")
def ticket_queue():
    filters = ticket_lists.QueueFilters.from_strings(request.args)
    return render_template("tickets/queue.html", found=ticket_lists.queue(current_user, utcnow(), filters),
                           filters=filters, states=ticket_lists.QUEUE_STATES, kinds=TICKET_KINDS,
                           ages=ticket_lists.QUEUE_AGES_HOURS, admins=tickets.assignable_admins())


def _ticket_page(ticket_id: int, draft: str = "", status: int = 200):
    return render_template("tickets/admin_ticket.html", view=tickets.ticket_page(current_user, ticket_id),
                           draft=draft, admins=tickets.assignable_admins(), priorities=TICKET_PRIORITIES,
                           comment_max=current_app.config["TICKET_COMMENT_MAX"]), status


@bp.route("/tickets/<int:ticket_id>")
def ticket_page(ticket_id: int):
    return _ticket_page(ticket_id)


def _done(ticket_id: int, message: str):
    flash(message, "success")
    return redirect(url_for("admin.ticket_page", ticket_id=ticket_id))


def _refused(ticket_id: int, exc: ValidationError, draft: str = ""):
    flash(str(exc.message), "error")
    return _ticket_page(ticket_id, draft, exc.status_code)


@bp.route("/tickets/<int:ticket_id>/assign", methods=["POST"])
def ticket_assign(ticket_id: int):
    chosen = request.form.get("assignee", "")
    try:
        with write_transaction():
            tickets.assign(current_user, ticket_id, current_user.id if chosen == "me" else optional_id(chosen),
                           utcnow())
    except ValidationError as exc:
        return _refused(ticket_id, exc)
    return _done(ticket_id, _("The assignee was saved."))


@bp.route("/tickets/<int:ticket_id>/comments", methods=["POST"])
def ticket_comment(ticket_id: int):
    _refuse_oversized()
    body = request.form.get("body", "")
    internal = request.form.get("internal") == "1"
    config = current_app.config
    try:
        _written, photo_id = uploads.with_upload(
            uploaded_file(request.files, "photo", config["PHOTO_MAX_BYTES"]), storage_from(config),
            uploads.Limits.from_config(config),
            lambda photo: tickets.comment(current_user, ticket_id, body, utcnow(), internal=internal, photo=photo))
    except (ValidationError, FileRefused) as exc:
        return _refused(ticket_id, exc, body)
    if photo_id:
        enqueue_photo(photo_id)  # after the commit: the job finds the photo
    return _done(ticket_id, _("The internal note was added.") if internal else _("Your answer was added."))


@bp.route("/tickets/<int:ticket_id>/status", methods=["POST"])
def ticket_status(ticket_id: int):
    try:
        with write_transaction():
            tickets.set_status(current_user, ticket_id, request.form.get("state", ""), utcnow(),
                               reason=request.form.get("reason", ""))
    except ValidationError as exc:
        return _refused(ticket_id, exc)
    return _done(ticket_id, _("The state was changed."))


@bp.route("/tickets/<int:ticket_id>/priority", methods=["POST"])
def ticket_priority(ticket_id: int):
    try:
        with write_transaction():
            tickets.set_priority(current_user, ticket_id, request.form.get("priority", ""), utcnow())
    except ValidationError as exc:
        return _refused(ticket_id, exc)
    return _done(ticket_id, _("The priority was changed."))
