"""What each event pushes, to whom: fragments rendered in the recipient's language.

Always called after the commit, so a page that misses a push finds the data on catch-up.
"""
from __future__ import annotations

import logging
import time

from flask import current_app, g
from flask_babel import get_locale
from markupsafe import Markup

from ..extensions import db
from ..web.i18n import in_language
from ..models import Conversation, Message, User
from ..redis_client import get_redis
from ..runtime import under_gevent
from ..services import chat
from .hub import publish

log = logging.getLogger(__name__)


def _render_for(user: User, template: str, **context) -> str:
    """A fragment for ``user`` (the ``viewer``), in their language.

    Rendered from the template alone, without the request's context processors: they describe
    the user whose request triggered the push (``current_user``, their CSRF token), not the one
    who receives it; and they cost more than most fragments."""
    g.pop("answering_locks", None)  # lock indicators are read fresh for every push
    with in_language(user.locale):
        return current_app.jinja_env.get_template(template).render(viewer=user, **context)


def message_html(message: Message, viewer_side: str) -> Markup:
    """A message's bubble for one side in the current language, rendered once per request: the
    push to the writer's side and the answer to their POST are the same bubble."""
    cache = g.setdefault("message_html", {})
    key = (message.id, viewer_side, str(get_locale()))
    html = cache.get(key)
    if html is None:
        html = cache[key] = Markup(current_app.jinja_env.get_template("partials/_message.html").render(
            message=message, viewer_side=viewer_side))
    return html


def message_posted(message: Message) -> None:
    """A new message: to the moderator holding the conversation first (they are the ones who must
    act; their fragment leaves before the client's is rendered), then to the client's pages."""
    conversation: Conversation = message.conversation
    client = conversation.client
    r = get_redis()
    if conversation.assigned_moderator_id is not None:
        moderator = conversation.moderator  # their bubble is rendered inside their fragment
        publish(r, moderator.id, _render_for(moderator, "partials/push/_moderator_message.html",
                                             conversation=conversation, message=message))
    with in_language(client.locale):
        bubble = message_html(message, "client")  # also the answer to the client's POST
        publish(r, client.id, _render_for(client, "partials/push/_client_message.html",
                                          conversation=conversation, message=message, bubble=bubble))
    if conversation.assigned_moderator_id is not None and conversation.assigned_at == message.created_at:
        queue_changed()  # new work was just handed out


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
    """Positions moved: every queued moderator's queue panel, re-rendered for them.

    Every change moves everyone's position, so each one costs a panel per queued moderator. In
    the web server a burst of changes (many moderators connecting, a wave of new conversations)
    is coalesced per process: the first change refreshes the panels at once, in the background;
    changes meanwhile make one more refresh ``QUEUE_PUSH_INTERVAL_SECONDS`` later, from the state
    then, so the panels always end on the latest positions. Elsewhere (jobs, CLI) it is done now.
    """
    from flask import has_request_context, request

    interval = current_app.config["QUEUE_PUSH_INTERVAL_SECONDS"]
    if not interval or not has_request_context() or not under_gevent():
        _push_queue_panels()
        return
    if _queue_refresh["scheduled"]:
        _queue_refresh["again"] = True
        return
    import gevent

    _queue_refresh["scheduled"] = True
    gevent.spawn(_refresh_queue_panels, current_app._get_current_object(), request.url_root, interval)


_queue_refresh = {"scheduled": False, "again": False}  # this process's coalesced queue refresh


def _refresh_queue_panels(app, url_root: str, interval: float) -> None:
    import gevent

    try:
        while True:
            _queue_refresh["again"] = False
            try:
                with app.test_request_context(base_url=url_root):
                    try:
                        _push_queue_panels()
                    finally:
                        db.session.remove()
            except Exception:  # noqa: BLE001 - a failed refresh must not stop the next ones
                log.exception("could not push the queue panels")
            gevent.sleep(interval)
            if not _queue_refresh["again"]:
                return
    finally:
        _queue_refresh["scheduled"] = False


def _push_queue_panels() -> None:
    """One read of the queue and of its moderators for all panels; publishes in pipelined batches."""
    from sqlalchemy import select

    from ..models import QueueEntry
    from ..clock import utcnow
    from ..services import moderator_queue

    r, now = get_redis(), utcnow()
    everyone = moderator_queue.statuses(now, current_app.config["QUEUE_DEFAULT_WAIT_SECONDS"])
    moderators = {user.id: user for user in db.session.scalars(
        select(User).join(QueueEntry, QueueEntry.moderator_id == User.id))}
    pipe = r.pipeline(transaction=False)
    for moderator_id in moderator_queue.queued_moderator_ids():
        moderator = moderators.get(moderator_id) or db.session.get(User, moderator_id)
        status = everyone.get(moderator_id, everyone[None])
        publish(pipe, moderator_id, _render_for(moderator, "moderator/_queue.html", status=status, oob=True))
        if len(pipe) >= 100:
            pipe.execute()
            time.sleep(0)  # under gevent: let requests and sockets run between batches
    pipe.execute()


def lock_status_changed(moderator_id: int, profile_id: int) -> None:
    """The moderator's lock on a profile was taken or released: the entries of that profile's
    conversations in their list (the lock flags), each replaced where it stands, and their locks
    panel. Not the whole list: a moderator answers all day, and reading and rendering a list of
    200 conversations took 89 ms on a slow machine, against 17 ms for one profile's 10 entries
    and the panel."""
    from ..clock import utcnow
    from ..services import locks

    moderator = db.session.get(User, moderator_id)
    if moderator is None:
        return
    now = utcnow()
    publish(get_redis(), moderator_id, _render_for(
        moderator, "partials/push/_lock_status.html", now=now,
        conversations=chat.moderator_conversations(moderator_id, profile_id=profile_id),
        profile_locks=locks.active_profile_locks(now)))
