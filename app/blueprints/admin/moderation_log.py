"""The moderation log for admins: every line, filtered (action, who, client, days), newest first."""
from flask import current_app, render_template, request
from flask_login import current_user

from ...models import MODERATION_ACTIONS
from ...services.moderation import journal
from . import bp


@bp.route("/moderation")
def moderation_log():
    """A page of the log; a faulty filter is dropped and the page says which (never an error)."""
    filters, notices = journal.parse_filters(request.args)
    before = journal.parse_before(request.args.get("before"))
    config = current_app.config
    log_page = journal.page(current_user, filters, config["MODERATION_LOG_PAGE_SIZE"],
                            config["MODERATION_LOG_PAGE_MAX"], before=before)
    return render_template("admin/moderation_log.html", log=log_page, notices=notices, actions=MODERATION_ACTIONS,
                           args=request.args)
