"""The desk beside the chat, as the moderator holding the conversation and the admin on its
conversation page both see it: one fragment (``moderator/_desk.html``), shown and saved alike."""
from flask import current_app, render_template, request
from flask_login import current_user

from ..clock import utcnow
from ..database import write_transaction
from ..services import desk_notes


def show_desk(conversation_id: int):
    desk = desk_notes.desk_for_moderator(current_user, conversation_id,
                                         history=current_app.config["DESK_HISTORY_SHOWN"])
    return render_template("moderator/_desk.html", desk=desk)


def save_desk(save, conversation_id: int, max_length: int):
    """``save`` (``desk_notes.save_client_note`` or ``save_facts_as_holder``) the posted body over
    the version the form started from; a stale save is a 409 showing both texts."""
    history = current_app.config["DESK_HISTORY_SHOWN"]
    try:
        with write_transaction():
            desk = save(current_user, conversation_id, request.form.get("body"), request.form.get("version"),
                        utcnow(), max_length=max_length, history=history)
    except desk_notes.StaleVersion as stale:
        desk = desk_notes.desk_for_moderator(current_user, conversation_id, history=history)
        return render_template("moderator/_desk.html", desk=desk, stale=stale, mine=request.form.get("body", "")), 409
    return render_template("moderator/_desk.html", desk=desk, saved=True)
