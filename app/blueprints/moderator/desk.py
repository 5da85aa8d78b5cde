"""The desk beside the chat: the profile's fact sheet and the notes on the client, for the holder."""
from flask import current_app

from ...services import desk_notes
from ..desk_views import save_desk, show_desk
from . import bp
from .routes import moderator_only


@bp.route("/c/<int:conversation_id>/desk")
@moderator_only
def desk(conversation_id: int):
    return show_desk(conversation_id)


@bp.route("/c/<int:conversation_id>/desk/facts", methods=["POST"])
@moderator_only
def desk_facts(conversation_id: int):
    """The holder rewrites the profile's fact sheet (refused with 409 when someone saved since)."""
    return save_desk(desk_notes.save_facts_as_holder, conversation_id, current_app.config["DESK_FACTS_MAX_LENGTH"])


@bp.route("/c/<int:conversation_id>/desk/note", methods=["POST"])
@moderator_only
def desk_note(conversation_id: int):
    """The holder rewrites the notes on the conversation's client."""
    return save_desk(desk_notes.save_client_note, conversation_id, current_app.config["DESK_NOTE_MAX_LENGTH"])
