"""A moderator reports the client of a conversation they hold."""
from flask import current_app, render_template, request, url_for
from flask_login import current_user

from ...clock import utcnow
from ...database import write_transaction
from ...models import REPORT_REASONS, Role
from ...services.moderation import reports
from ...web.auth import role_required
from . import bp

moderator_only = role_required(Role.MODERATOR)


@bp.route("/conversations/<int:conversation_id>/report")
@moderator_only
def client_report_form(conversation_id: int):
    return render_template("reports/_form.html", action=url_for("moderator.client_report", conversation_id=conversation_id),
                           key=f"c{conversation_id}", reasons=REPORT_REASONS,
                           comment_max=current_app.config["REPORT_COMMENT_MAX_LENGTH"])


@bp.route("/conversations/<int:conversation_id>/report", methods=["POST"])
@moderator_only
def client_report(conversation_id: int):
    with write_transaction():
        reports.report_client(current_user, conversation_id, request.form.get("reason", ""),
                              request.form.get("comment", ""), utcnow(),
                              reports.Limits.from_config(current_app.config))
    return render_template("reports/_filed.html")
