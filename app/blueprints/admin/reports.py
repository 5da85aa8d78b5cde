"""The admins' report queue: filters, and a decision on each report."""
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...clock import utcnow
from ...database import write_transaction
from ...models import REPORT_REASONS
from ...services.moderation import reports
from ...web.auth import safe_next
from ..params import optional_id
from . import bp


@bp.route("/reports")
def report_queue():
    state = request.args.get("state", "open")
    reason = request.args.get("reason") or None
    older = optional_id(request.args.get("older_than"))
    page = optional_id(request.args.get("page")) or 1
    limits = reports.Limits.from_config(current_app.config)
    found = reports.queue(current_user, utcnow(), limits, state=state, reason=reason, older_than_hours=older,
                          page=page)
    return render_template("admin/reports.html", found=found, state=state, reason=reason, older=older,
                           reasons=REPORT_REASONS, decisions_for=reports.decisions_for,
                           hours=limits.sanction_hours)


@bp.route("/reports/<int:report_id>/decide", methods=["POST"])
def report_decide(report_id: int):
    hours = request.form.get("hours")
    with write_transaction():
        reports.decide(current_user, report_id, request.form.get("decision", ""), request.form.get("note", ""),
                       optional_id(hours) if hours else None, utcnow(), reports.Limits.from_config(current_app.config))
    flash(_("The report was decided."), "success")
    return redirect(safe_next(request.form.get("back")) or url_for("admin.report_queue"))
