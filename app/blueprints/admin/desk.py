"""A profile's fact sheet on its admin page: every version, and a form to write the next one; the
desk of a conversation (its client's notes, its profile's facts) on the admin's conversation page."""
from flask import current_app, render_template, request
from flask_login import current_user

from ...clock import utcnow
from ...database import write_transaction
from ...services import desk_notes
from . import bp


@bp.route("/profiles/<int:profile_id>/facts")
def profile_facts(profile_id: int):
    profile, facts = desk_notes.facts_for_admin(current_user, profile_id)
    return render_template("admin/_fact_sheet.html", profile=profile, facts=facts)


@bp.route("/profiles/<int:profile_id>/facts", methods=["POST"])
def profile_facts_save(profile_id: int):
    """The admin rewrites the fact sheet (refused with 409 when someone saved since)."""
    try:
        with write_transaction():
            profile, facts = desk_notes.save_facts_as_admin(current_user, profile_id, request.form.get("body"),
                                                            request.form.get("version"), utcnow(),
                                                            max_length=current_app.config["DESK_FACTS_MAX_LENGTH"])
    except desk_notes.StaleVersion as stale:
        profile, facts = desk_notes.facts_for_admin(current_user, profile_id)
        return render_template("admin/_fact_sheet.html", profile=profile, facts=facts, stale=stale,
                               mine=request.form.get("body", "")), 409
    return render_template("admin/_fact_sheet.html", profile=profile, facts=facts, saved=True)


@bp.route("/conversations/<int:conversation_id>/desk")
def conversation_desk(conversation_id: int):
    desk = desk_notes.desk_for_moderator(current_user, conversation_id,
                                         history=current_app.config["DESK_HISTORY_SHOWN"])
    return render_template("moderator/_desk.html", desk=desk)


@bp.route("/conversations/<int:conversation_id>/desk/facts", methods=["POST"])
def conversation_desk_facts(conversation_id: int):
    return _save_desk(desk_notes.save_facts_as_holder, conversation_id, current_app.config["DESK_FACTS_MAX_LENGTH"])


@bp.route("/conversations/<int:conversation_id>/desk/note", methods=["POST"])
def conversation_desk_note(conversation_id: int):
    return _save_desk(desk_notes.save_client_note, conversation_id, current_app.config["DESK_NOTE_MAX_LENGTH"])


def _save_desk(save, conversation_id: int, max_length: int):
    history = current_app.config["DESK_HISTORY_SHOWN"]
    try:
        with write_transaction():
            desk = save(current_user, conversation_id, request.form.get("body"), request.form.get("version"),
                        utcnow(), max_length=max_length, history=history)
    except desk_notes.StaleVersion as stale:
        desk = desk_notes.desk_for_moderator(current_user, conversation_id, history=history)
        return render_template("moderator/_desk.html", desk=desk, stale=stale, mine=request.form.get("body", "")), 409
    return render_template("moderator/_desk.html", desk=desk, saved=True)
