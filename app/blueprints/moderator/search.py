"""Searching messages from the workspace: in the conversations the moderator holds."""
from flask import current_app, render_template, request
from flask_login import current_user

from ...redis_client import get_redis
from ...services import conversation_view
from ...services import search as message_search
from ..params import optional_id
from . import bp
from .routes import moderator_only


@bp.route("/search")
@moderator_only
def search():
    """Results as a fragment for the search box (``before``: the next page's entries only), or the
    workspace with them for a plain request."""
    results = message_search.search_messages(
        current_user, request.args.get("q"), message_search.Limits.from_config(current_app.config),
        conversation_id=optional_id(request.args.get("c")), before_id=optional_id(request.args.get("before")))
    context = {"results": results, "search_endpoint": "moderator.search", "open_endpoint": "moderator.conversation",
               "open_in_panel": True}
    if request.htmx:
        if request.args.get("before"):
            return render_template("search/_hits.html", **context)
        return render_template("search/_results.html", oob=True, **context)
    view = conversation_view.saved(get_redis(), current_user.id)
    return render_template("moderator/workspace.html", conversations=conversation_view.conversations(current_user.id, view),
                           view=view, current=None, **context)
