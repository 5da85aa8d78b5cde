"""Admins' canned replies: the global ones and each profile's."""
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...clock import utcnow
from ...database import write_transaction
from ...services import canned_replies, profiles
from ...services.errors import ValidationError
from ..params import optional_id
from . import bp


@bp.route("/canned", methods=["GET", "POST"])
def canned_list():
    if request.method == "POST":
        return _save(None)
    return _page()


@bp.route("/canned/<int:reply_id>", methods=["POST"])
def canned_edit(reply_id: int):
    return _save(reply_id)


@bp.route("/canned/<int:reply_id>/delete", methods=["POST"])
def canned_delete(reply_id: int):
    with write_transaction():
        canned_replies.delete(current_user, reply_id, utcnow())
    flash(_("Reply deleted."), "success")
    return redirect(url_for("admin.canned_list"))


def _save(reply_id):
    limits = canned_replies.Limits.from_config(current_app.config)
    form = request.form
    try:
        with write_transaction():
            if reply_id is None:
                canned_replies.create(current_user, title=form.get("title"), body=form.get("body"), limits=limits,
                                      now=utcnow(), profile_id=optional_id(form.get("profile_id")))
            else:
                canned_replies.update(current_user, reply_id, title=form.get("title"), body=form.get("body"),
                                      limits=limits, now=utcnow())
    except ValidationError as exc:
        return _page(error=str(exc.message), values=form, editing=reply_id), exc.status_code
    flash(_("Reply saved."), "success")
    return redirect(url_for("admin.canned_list"))


def _page(error=None, values=None, editing=None):
    return render_template("canned/manage.html", replies=canned_replies.list_managed(current_user),
                           profiles=profiles.list_profiles(active_only=False), error=error, values=values or {},
                           editing=editing, endpoint_prefix="admin", placeholders=canned_replies.PLACEHOLDERS,
                           limits=canned_replies.Limits.from_config(current_app.config))
