"""The desk beside the chat: the profile's fact sheet and the notes on the client, for the holder."""
from flask import current_app, render_template, request
from flask_login import current_user

from ...clock import utcnow
from ...database import write_transaction
from ...services import desk_notes
from . import bp
from .routes import moderator_only


@bp.route("/c/<int:conversation_id>/desk")
@moderator_only
def desk(conversation_id: int):
    desk = desk_notes.desk_for_moderator(current_user, conversation_id,
                                         history=current_app.config["DESK_HISTORY_SHOWN"])
    return render_template("moderator/_desk.html", desk=desk)


@bp.route("/c/<int:conversation_id>/desk/facts", methods=["POST"])
@moderator_only
def desk_facts(conversation_id: int):
    """The holder rewrites the profile's fact sheet (refused with 409 when someone saved since)."""
    return _save(desk_notes.save_facts_as_holder, conversation_id, current_app.config["DESK_FACTS_MAX_LENGTH"])


@bp.route("/c/<int:conversation_id>/desk/note", methods=["POST"])
@moderator_only
def desk_note(conversation_id: int):
    """The holder rewrites the notes on the conversation's client."""
    return _save(desk_notes.save_client_note, conversation_id, current_app.config["DESK_NOTE_MAX_LENGTH"])


def _save(save, conversation_id: int, max_length: int):
    history = current_app.config["DESK_HISTORY_SHOWN"]
    try:
        with write_transaction():
            desk = save(current_user, conversation_id, request.form.get("body"), request.form.get("version"),
                        utcnow(), max_length=max_length, history=history)
    except desk_notes.StaleVersion as stale:
        desk = desk_notes.desk_for_moderator(current_user, conversation_id, history=history)
        return render_template("moderator/_desk.html", desk=desk, stale=stale, mine=request.form.get("body", "")), 409
    return render_template("moderator/_desk.html", desk=desk, saved=True)
