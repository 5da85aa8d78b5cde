"""Admin pages for the content filters: the rules (list, create, edit, enable, delete) and the
messages they flagged for review."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...clock import utcnow
from ...database import write_transaction
from ...models import FILTER_ACTIONS, FILTER_KINDS, FILTER_LANGUAGES
from ...services.errors import NotFound, ValidationError
from ...services.filters import rules
from ..params import optional_id
from . import bp


def _rules_page(form_values: dict, status: int = 200, editing=None):
    return render_template("admin/filters.html", rules=rules.list_rules(), form_values=form_values, editing=editing,
                           kinds=FILTER_KINDS, actions=FILTER_ACTIONS, languages=FILTER_LANGUAGES), status


def _fields(form) -> dict:
    return {name: form.get(name) for name in ("kind", "expression", "language", "action")}


@bp.route("/filters")
def filter_list():
    return _rules_page({})


@bp.route("/filters", methods=["POST"])
def filter_create():
    try:
        with write_transaction():
            rules.create_rule(current_user, **_fields(request.form), now=utcnow())
    except ValidationError as exc:
        flash(str(exc.message), "error")
        return _rules_page(request.form, 422)
    rules.changed()
    flash(_("Filter rule saved."), "success")
    return redirect(url_for("admin.filter_list"))


@bp.route("/filters/<int:rule_id>")
def filter_edit(rule_id: int):
    rule = rules.get_rule(rule_id)
    return _rules_page({"kind": rule.kind, "expression": rule.expression, "language": rule.language,
                        "action": rule.action}, editing=rule)


@bp.route("/filters/<int:rule_id>", methods=["POST"])
def filter_update(rule_id: int):
    try:
        with write_transaction():
            rules.update_rule(current_user, rule_id, **_fields(request.form), now=utcnow())
    except ValidationError as exc:
        flash(str(exc.message), "error")
        return _rules_page(request.form, 422, editing=rules.get_rule(rule_id))
    rules.changed()
    flash(_("Filter rule saved."), "success")
    return redirect(url_for("admin.filter_list"))


@bp.route("/filters/<int:rule_id>/enabled", methods=["POST"])
def filter_enable(rule_id: int):
    with write_transaction():
        rules.set_enabled(current_user, rule_id, request.form.get("enabled") == "1", utcnow())
    rules.changed()
    return redirect(url_for("admin.filter_list"))


@bp.route("/filters/<int:rule_id>/delete", methods=["POST"])
def filter_delete(rule_id: int):
    with write_transaction():
        rules.delete_rule(current_user, rule_id, utcnow())
    rules.changed()
    flash(_("Filter rule deleted."), "success")
    return redirect(url_for("admin.filter_list"))


@bp.route("/filters/flagged")
def flagged_list():
    reviewed = request.args.get("reviewed") == "1"
    return render_template("admin/flagged.html", flagged=rules.flagged(reviewed=reviewed), reviewed=reviewed)


@bp.route("/filters/flagged/reviewed", methods=["POST"])
def flagged_review():
    flagged_id = optional_id(request.form.get("flagged_id"))
    if flagged_id is None:
        raise NotFound(_("This flagged message does not exist."))
    with write_transaction():
        rules.mark_reviewed(current_user, flagged_id, utcnow())
    flash(_("Marked as reviewed."), "success")
    return redirect(url_for("admin.flagged_list"))
