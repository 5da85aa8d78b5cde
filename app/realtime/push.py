"""What each event pushes, to whom: fragments rendered in the recipient's language.

Always called after the commit, so a page that misses a push finds the data on catch-up.
"""
from __future__ import annotations

from flask import render_template
from flask_babel import force_locale

from ..extensions import db
from ..models import Conversation, Message, User
from ..redis_client import get_redis
from ..services import chat
from .hub import publish


def _render_for(user: User, template: str, **context) -> str:
    with force_locale(user.locale):
        return render_template(template, viewer=user, **context)


def message_posted(message: Message) -> None:
    """A new message: to the client's pages and to the moderator holding the conversation."""
    conversation: Conversation = message.conversation
    r = get_redis()
    client = conversation.client
    publish(r, client.id, _render_for(client, "partials/push/_client_message.html",
                                      conversation=conversation, message=message))
    if conversation.assigned_moderator_id is not None:
        moderator = conversation.moderator
        publish(r, moderator.id, _render_for(
            moderator, "partials/push/_moderator_message.html", conversation=conversation, message=message))
        if conversation.assigned_at == message.created_at:  # new work was just handed out
            queue_changed()


def conversations_assigned(moderator_ids: set[int]) -> None:
    """Refresh the conversation list of moderators who just received work, and queue positions."""
    r = get_redis()
    for moderator_id in moderator_ids:
        moderator = db.session.get(User, moderator_id)
        publish(r, moderator_id, _render_for(
            moderator, "partials/push/_moderator_list.html",
            conversations=chat.moderator_conversations(moderator_id)))
    if moderator_ids:
        queue_changed()



def work_taken_for_inactivity(moves) -> None:
    """Tell idle moderators what moved and why; refresh everyone's list."""
    r = get_redis()
    for idle_id, taken in moves.taken.items():
        moderator = db.session.get(User, idle_id)
        conversations = [db.session.get(Conversation, cid) for cid, _ in taken]
        publish(r, idle_id, _render_for(moderator, "partials/push/_reassigned_alert.html", moved=conversations,
                                        conversations=chat.moderator_conversations(idle_id)))
    conversations_assigned(moves.receivers)


def admin_alert(admin_ids: set[int], report) -> None:
    """Monitoring found something an admin should see: an alert in their open pages."""
    r = get_redis()
    for admin_id in admin_ids:
        admin = db.session.get(User, admin_id)
        publish(r, admin_id, _render_for(admin, "partials/push/_admin_alert.html", report=report))


def queue_changed() -> None:
    """Positions moved: every queued moderator's queue panel, re-rendered for them."""
    from flask import current_app

    from ..models._time import utcnow
    from ..services import queue

    r, now = get_redis(), utcnow()
    for moderator_id in queue.queued_moderator_ids():
        moderator = db.session.get(User, moderator_id)
        status = queue.status(moderator_id, now, current_app.config["QUEUE_DEFAULT_WAIT_SECONDS"])
        publish(r, moderator_id, _render_for(moderator, "moderator/_queue.html", status=status, oob=True))
