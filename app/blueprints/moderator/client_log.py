"""The client card's moderation log: what a moderator may see about the client of a conversation
they hold (loaded into the card when the conversation opens)."""
from flask import current_app, render_template
from flask_login import current_user

from ...services.moderation import journal
from . import bp
from .routes import moderator_only


@bp.route("/c/<int:conversation_id>/client-log")
@moderator_only
def client_log(conversation_id: int):
    lines = journal.client_log_for_moderator(current_user, conversation_id, current_app.config["CLIENT_LOG_CARD_SIZE"])
    return render_template("moderator/_client_log.html", lines=lines)
