"""Fragments rendered both as a push and as the answer to a request."""
from __future__ import annotations

from flask import current_app, g
from markupsafe import Markup

from .i18n import for_viewer


def message_html(message, viewer_side: str, locale: str, time_zone: str | None = None) -> Markup:
    """A message's bubble for one side in ``locale``, rendered once per request: the push to the
    writer's side and the answer to their POST are the same bubble."""
    cache = g.setdefault("message_html", {})
    key = (message.id, viewer_side, locale, time_zone)
    html = cache.get(key)
    if html is None:
        with for_viewer(locale, time_zone):
            html = cache[key] = Markup(current_app.jinja_env.get_template("partials/_message.html").render(
                message=message, viewer_side=viewer_side))
    return html
