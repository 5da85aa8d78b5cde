"""A client reports a profile's message or a profile; clients and moderators read and close their
moderation notices (a report's outcome, a warning)."""
from flask import current_app, render_template, request, url_for
from flask_login import current_user

from ...clock import utcnow
from ...database import write_transaction
from ...models import REPORT_REASONS, Role
from ...services.moderation import reports
from ...web.auth import role_required
from . import bp

client_only = role_required(Role.CLIENT)
reader_only = role_required(Role.CLIENT, Role.MODERATOR)


def _form(action: str, key: str):
    return render_template("reports/_form.html", action=action, key=key, reasons=REPORT_REASONS,
                           comment_max=current_app.config["REPORT_COMMENT_MAX_LENGTH"])


@bp.route("/messages/<int:message_id>/report")
@client_only
def message_report_form(message_id: int):
    return _form(url_for("chat.message_report", message_id=message_id), f"m{message_id}")


@bp.route("/messages/<int:message_id>/report", methods=["POST"])
@client_only
def message_report(message_id: int):
    with write_transaction():
        reports.report_message(current_user, message_id, request.form.get("reason", ""),
                               request.form.get("comment", ""), utcnow(),
                               reports.Limits.from_config(current_app.config))
    return render_template("reports/_filed.html")


@bp.route("/profiles/<int:profile_id>/report")
@client_only
def profile_report_form(profile_id: int):
    return _form(url_for("chat.profile_report", profile_id=profile_id), f"p{profile_id}")


@bp.route("/profiles/<int:profile_id>/report", methods=["POST"])
@client_only
def profile_report(profile_id: int):
    with write_transaction():
        reports.report_profile(current_user, profile_id, request.form.get("reason", ""),
                               request.form.get("comment", ""), utcnow(),
                               reports.Limits.from_config(current_app.config))
    return render_template("reports/_filed.html")


@bp.route("/notices")
@reader_only
def notices():
    """The user's moderation notices: the page asks for them as it loads; pushes replace them."""
    return render_template("partials/_moderation_notices.html", notices=reports.notices(current_user.id), oob=False)


@bp.route("/notices/<int:notice_id>/dismiss", methods=["POST"])
@reader_only
def notice_dismiss(notice_id: int):
    with write_transaction():
        reports.dismiss_notice(current_user, notice_id, utcnow())
    return render_template("partials/_moderation_notices.html", notices=reports.notices(current_user.id), oob=False)
