"""Canned replies from the workspace: the picker's list for a conversation held, and the moderator's own."""
from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...clock import utcnow
from ...database import write_transaction
from ...services import canned_replies
from ...services.errors import ValidationError
from . import bp
from .routes import moderator_only


@bp.route("/c/<int:conversation_id>/canned")
@moderator_only
def canned_for_conversation(conversation_id: int):
    """The replies the composer's picker offers for this conversation, filled for it (JSON: the page
    puts titles and texts in as text)."""
    found = canned_replies.list_for_conversation(current_user, conversation_id, request.args.get("q"), utcnow())
    return jsonify(replies=[{"id": r.id, "title": r.title, "scope": r.scope, "text": r.text} for r in found])


@bp.route("/canned", methods=["GET", "POST"])
@moderator_only
def canned_list():
    if request.method == "POST":
        return _save(None)
    return _page()


@bp.route("/canned/<int:reply_id>", methods=["POST"])
@moderator_only
def canned_edit(reply_id: int):
    return _save(reply_id)


@bp.route("/canned/<int:reply_id>/delete", methods=["POST"])
@moderator_only
def canned_delete(reply_id: int):
    with write_transaction():
        canned_replies.delete(current_user, reply_id, utcnow())
    flash(_("Reply deleted."), "success")
    return redirect(url_for("moderator.canned_list"))


def _save(reply_id):
    limits = canned_replies.Limits.from_config(current_app.config)
    form = request.form
    try:
        with write_transaction():
            if reply_id is None:
                canned_replies.create(current_user, title=form.get("title"), body=form.get("body"), limits=limits,
                                      now=utcnow())
            else:
                canned_replies.update(current_user, reply_id, title=form.get("title"), body=form.get("body"),
                                      limits=limits, now=utcnow())
    except ValidationError as exc:
        return _page(error=str(exc.message), values=form, editing=reply_id), exc.status_code
    flash(_("Reply saved."), "success")
    return redirect(url_for("moderator.canned_list"))


def _page(error=None, values=None, editing=None):
    return render_template("canned/manage.html", replies=canned_replies.list_managed(current_user), profiles=None,
                           error=error, values=values or {}, editing=editing, endpoint_prefix="moderator",
                           placeholders=canned_replies.PLACEHOLDERS,
                           limits=canned_replies.Limits.from_config(current_app.config))
