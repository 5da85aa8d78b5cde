"""Admins search every conversation's messages, and read any conversation (at a result)."""
from flask import current_app, render_template, request
from flask_login import current_user

from ...services import reading
from ...services import search as message_search
from ..params import history_bounds, optional_id
from . import bp


@bp.route("/search")
def search():
    """The search page, or its results as a fragment (``before``: the next page's entries only)."""
    results = message_search.search_messages(
        current_user, request.args.get("q"), message_search.Limits.from_config(current_app.config),
        conversation_id=optional_id(request.args.get("c")), before_id=optional_id(request.args.get("before")))
    context = {"results": results, "search_endpoint": "admin.search", "open_endpoint": "admin.conversation",
               "open_in_panel": False}
    if request.htmx:
        if request.args.get("before"):
            return render_template("search/_hits.html", **context)
        return render_template("search/_results.html", oob=True, **context)
    return render_template("admin/search.html", **context)


@bp.route("/conversations/<int:conversation_id>")
def conversation(conversation_id: int):
    """A conversation as it stands, read only: its latest page, or around a message (``around``)."""
    config = current_app.config
    opened = reading.open_for_admin(current_user, conversation_id, size=config["HISTORY_PAGE_SIZE"],
                                    message_id=optional_id(request.args.get("around")),
                                    reach_max=config["HISTORY_AROUND_MAX"])
    return render_template("admin/conversation.html", current=opened.conversation, page=opened.page,
                           focus_id=opened.focus_id, has_newer=opened.has_newer)


@bp.route("/conversations/<int:conversation_id>/messages")
def conversation_messages(conversation_id: int):
    """Older pages of a conversation an admin reads."""
    before, after = history_bounds(request.args)
    current, page = reading.admin_history(current_user, conversation_id, size=current_app.config["HISTORY_PAGE_SIZE"],
                                          before_id=before, after_id=after)
    return render_template("admin/_conversation_history.html", current=current, page=page)
