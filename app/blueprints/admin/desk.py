"""A profile's fact sheet on its admin page: every version, and a form to write the next one; the
desk of a conversation (its client's notes, its profile's facts) on the admin's conversation page."""
from flask import current_app, render_template, request
from flask_login import current_user

from ...clock import utcnow
from ...database import write_transaction
from ...services import desk_notes
from ..desk_views import save_desk, show_desk
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
    return show_desk(conversation_id)


@bp.route("/conversations/<int:conversation_id>/desk/facts", methods=["POST"])
def conversation_desk_facts(conversation_id: int):
    return save_desk(desk_notes.save_facts_as_holder, conversation_id, current_app.config["DESK_FACTS_MAX_LENGTH"])


@bp.route("/conversations/<int:conversation_id>/desk/note", methods=["POST"])
def conversation_desk_note(conversation_id: int):
    return save_desk(desk_notes.save_client_note, conversation_id, current_app.config["DESK_NOTE_MAX_LENGTH"])
