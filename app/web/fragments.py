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


def client_sent_html(message) -> Markup:
    """The answer to a client's message: its bubble in the client's language, and the
    conversation it went into (a first message opens it) for the page to know at once."""
    client = message.conversation.client
    return Markup(current_app.jinja_env.get_template("chat/_sent.html").render(
        conversation=message.conversation, bubble=message_html(message, "client", client.locale, client.time_zone)))
