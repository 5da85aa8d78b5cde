"""What each event pushes, to whom: fragments rendered in the recipient's language.

``dispatch`` runs after the commit of every unit of work that recorded events (subscribed to
``services.events`` at start), so a page that misses a push finds the data on catch-up.
"""
from __future__ import annotations

import dataclasses
import logging
import time

from flask import current_app, has_request_context
from sqlalchemy import select

from ..clock import utcnow
from ..extensions import db
from ..models import ChangeReason, Conversation, Export, Message, Photo, Role, User
from ..models.chat import Sender
from ..redis_client import get_redis
from ..runtime import under_gevent
from ..services import chat, conversation_view, events, notifications, reactions, reading
from ..services.moderation import reports as moderation_reports
from ..services.moderation import sanctions
from ..web.fragments import message_html
from ..web.i18n import for_viewer, in_language
from .hub import get_hub, publish, publish_all, publish_kick

log = logging.getLogger(__name__)


def _render_for(user: User, template: str, **context) -> str:
    """A fragment for ``user`` (the ``viewer``), in their language.

    Rendered from the template alone, without the request's context processors: they describe
    the user whose request triggered the push (``current_user``, their CSRF token), not the one
    who receives it; and they cost more than most fragments."""
    with for_viewer(user.locale, user.time_zone):
        return current_app.jinja_env.get_template(template).render(viewer=user, **context)


def dispatch(happened: list) -> None:
    """``_dispatch`` in a request context (its fragments hold addresses): the committing request's
    or job's, else one for ``PUBLIC_URL`` (the CLI, a test driving services)."""
    if has_request_context():
        _dispatch(happened)
        return
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
        _dispatch(happened)


def _dispatch(happened: list) -> None:
    """A committed unit of work's events (``services.events``), turned into pushes: new messages
    first (the holder, who must act, before the client), then the lists of moderators who received
    or lost work (an idle moderator's with what moved and why), lock flags, admins' alerts, then
    the queue panels once if positions moved. Kicks close the pages of disabled accounts."""
    posted = [e for e in happened if isinstance(e, events.MessagePosted)]
    with_message = {e.message.conversation_id for e in posted}
    lists: set[int] = set()
    taken: dict[int, list[int]] = {}  # idle moderator -> conversations moved for inactivity
    locks_changed: list[tuple[int, int]] = []
    queue = False
    for e in happened:
        if isinstance(e, events.WorkAssigned):
            queue = True
            if e.conversation_id not in with_message:  # the message's push shows it already
                lists.add(e.moderator_id)
        elif isinstance(e, events.WorkMoved):
            queue = True
            lists.add(e.to_id)
            if e.reason == ChangeReason.INACTIVITY:
                taken.setdefault(e.from_id, []).extend(e.conversation_ids)
            else:
                lists.add(e.from_id)
        elif isinstance(e, events.LockChanged) and (e.moderator_id, e.profile_id) not in locks_changed:
            locks_changed.append((e.moderator_id, e.profile_id))
        elif isinstance(e, events.QueueChanged):
            queue = True
        elif isinstance(e, (events.AccountDisabled, events.SessionsEnded)):
            publish_kick(get_redis(), e.user_id)
        elif isinstance(e, events.SanctionChanged):
            sanction_changed(e.client_id)
    for e in posted:
        message_posted(e.message, e.client_unread_total)
    for e in happened:
        if isinstance(e, events.ReadMoved):
            read_moved(e.conversation_id, e.side)
    for e in happened:
        if isinstance(e, events.PhotoProcessed):
            photo_processed(e.photo_id)
        elif isinstance(e, events.ReactionsChanged):
            reactions_changed(e.message_id)
        elif isinstance(e, events.ExportChanged):
            export_changed(e.export_id)
        elif isinstance(e, events.ReportDecided):
            for user_id in e.user_ids:
                moderation_notices_changed(user_id)
    for idle_id, conversation_ids in taken.items():
        _work_taken_for_inactivity(idle_id, conversation_ids)
    for moderator_id in sorted(lists - set(taken)):
        conversation_list(moderator_id)
    for moderator_id, profile_id in locks_changed:
        lock_status_changed(moderator_id, profile_id)
    for e in happened:
        if isinstance(e, events.MonitoringAlert):
            _admin_alert(e.report)
    counts = {e.user_id for e in happened if isinstance(e, events.NotificationsChanged)}
    if counts:
        notification_counts(counts)
    if queue:
        queue_changed()


def message_posted(message: Message, client_unread_total: int | None = None) -> None:
    """A new message: to the moderator holding the conversation first (they are the ones who must
    act), then to the client's pages, both in one round trip to Redis. With a reply, the client's
    unread total (returned by the reply's own statement): whatever page they are on, their badge
    and the conversation's entry in their list follow."""
    conversation: Conversation = message.conversation
    client = conversation.client
    fragments = []
    if conversation.assigned_moderator_id is not None:
        moderator = conversation.moderator  # their bubble is rendered inside their fragment
        fragments.append((moderator.id, _render_for(moderator, "partials/push/_moderator_message.html",
                                                    conversation=conversation, message=message)))
    bubble = message_html(message, "client", client.locale, client.time_zone)  # also the answer to the client's POST
    fragments.append((client.id, _render_for(client, "partials/push/_client_message.html",
                                             conversation=conversation, message=message, bubble=bubble,
                                             unread_total=client_unread_total)))
    publish_all(get_redis(), fragments)


STANDING_CHANGED = '<span id="standing-changed" hx-swap-oob="true" hidden></span>'


def notification_counts(user_ids) -> None:
    """Users whose notifications were written: the cached count goes (``notifications.invalidate``)
    and every page of theirs gets the new one, read again after the commit."""
    fragments = []
    for user_id in sorted(user_ids):
        notifications.invalidate(user_id)
        fragments.append((user_id, notification_count_html(notifications.unread_count(user_id), oob=True)))
    publish_all(get_redis(), fragments)


def notification_count_html(count: int, oob: bool = False) -> str:
    """The bell's badge: a number and no words, the same in every language (the words are the
    bell's), so a push renders it once without loading its user."""
    return current_app.jinja_env.get_template("partials/_notification_count.html").render(count=count, oob=oob)


def sanction_changed(client_id: int) -> None:
    """A banned client's open pages show why and until when in place of the chat, then their
    sockets close (after that fragment); the page opens none again while the ban runs. Any other
    change (a mute imposed, lifted or ended) tells the pages to fetch their composer again."""
    ban = sanctions.running(client_id, utcnow()).get("ban")
    r = get_redis()
    if ban is None:
        publish(r, client_id, STANDING_CHANGED)
        return
    client = db.session.get(User, client_id)
    publish(r, client_id, _render_for(client, "partials/push/_banned.html", ban=ban))
    publish_kick(r, client_id, drain=True)


def read_moved(conversation_id: int, side: str) -> None:
    """A side read further: the other side's receipt ("Seen"); for the client who read, the
    conversation's entry and their badge, on every page they have open."""
    conversation = reading.read_conversation(conversation_id)
    if conversation is None:
        return
    r = get_redis()
    client = conversation.client
    if side == Sender.CLIENT.value:
        if conversation.moderator is not None:
            publish(r, conversation.moderator.id, _render_for(
                conversation.moderator, "partials/push/_read_moved.html", receipt_key=f"c{conversation.id}",
                receipt=reading.receipt(conversation, Sender.PROFILE), show_time=True))
        publish(r, client.id, _render_for(client, "partials/push/_read_moved.html", conversation=conversation,
                                          unread_total=reading.client_unread_total(client.id)))
    else:
        publish(r, client.id, _render_for(client, "partials/push/_read_moved.html",
                                          receipt_key=f"p{conversation.profile_id}",
                                          receipt=reading.receipt(conversation, Sender.CLIENT)))


def photo_processed(photo_id: str) -> None:
    """A photo's sizes were made (or it failed): its placeholder is replaced on the pages of the
    conversation's client and of the moderator holding it now, each in their language."""
    photo = db.session.get(Photo, photo_id)
    if photo is None or photo.conversation_id is None:  # a ticket's: its figure asks again until ready
        return
    conversation = photo.conversation
    r = get_redis()
    recipients = [conversation.client]
    if conversation.assigned_moderator_id is not None:
        recipients.insert(0, conversation.moderator)
    for user in recipients:
        publish(r, user.id, _render_for(user, "partials/_photo.html", photo=photo, photo_oob=True))


def reactions_changed(message_id: int) -> None:
    """A message's reactions changed: its reactions, as they are now, on the pages of the
    conversation's client and of the moderator holding it, each with their own side's pressed."""
    message = db.session.get(Message, message_id)
    if message is None:
        return
    conversation = message.conversation
    counts = reactions.counts([message.id]).get(message.id, [])
    recipients = [(conversation.client, "client")]
    if conversation.assigned_moderator_id is not None:
        recipients.insert(0, (conversation.moderator, "profile"))
    r = get_redis()
    for user, side in recipients:
        publish(r, user.id, _render_for(user, "partials/_reactions.html", message=message, reactions=counts,
                                        viewer_side=side, oob=True))


def export_changed(export_id: str) -> None:
    """An export moved on (progress, ready, failed, expired): its entry on its owner's pages, in
    their language. Nobody else: an export is its owner's alone."""
    export = db.session.get(Export, export_id)
    if export is None:
        return
    owner = db.session.get(User, export.owner_id)
    publish(get_redis(), owner.id, _render_for(owner, "partials/_export.html", export=export, export_oob=True,
                                               now=utcnow()))


def conversation_list(moderator_id: int) -> None:
    """A moderator's whole conversation list: they received or lost work."""
    moderator = db.session.get(User, moderator_id)
    if moderator is not None:
        publish(get_redis(), moderator_id, _render_for(moderator, "partials/push/_moderator_list.html",
                                                       **_listing(moderator_id)))


def _listing(moderator_id: int) -> dict:
    """A moderator's list as they chose to see it (filter, order)."""
    view = conversation_view.saved(get_redis(), moderator_id)
    return {"view": view, "conversations": conversation_view.conversations(moderator_id, view)}


def _work_taken_for_inactivity(idle_id: int, conversation_ids: list[int]) -> None:
    """Tell an idle moderator what moved and why, with their list as it is now."""
    moderator = db.session.get(User, idle_id)
    if moderator is None:
        return
    moved = [db.session.get(Conversation, cid) for cid in conversation_ids]
    publish(get_redis(), idle_id, _render_for(moderator, "partials/push/_reassigned_alert.html", moved=moved,
                                              **_listing(idle_id)))


def moderation_notices_changed(user_id: int) -> None:
    """A report was decided: its reporter's (or the warned client's) notices, in their open pages."""
    user = db.session.get(User, user_id)
    if user is not None:
        publish(get_redis(), user_id, _render_for(user, "partials/_moderation_notices.html", oob=True,
                                                  notices=moderation_reports.notices(user_id)))


def _admin_alert(report) -> None:
    """Monitoring found something an admin should see: an alert in the open pages of online admins."""
    r = get_redis()
    for admin in db.session.scalars(select(User).where(User.role == Role.ADMIN, User.is_online.is_(True))):
        publish(r, admin.id, _render_for(admin, "partials/push/_admin_alert.html", report=report))


def queue_changed() -> None:
    """Positions moved: every queued moderator's queue panel, re-rendered for them.

    Every change moves everyone's position, so each one costs a panel per queued moderator (a
    string filled in from a render per language: ``QueuePanels``) and its push. So it is one
    broadcast, not a message per moderator: every web process then refreshes the panels of the
    sockets it holds, written to them directly (``queue_broadcast_received``)."""
    get_hub().broadcast(get_redis(), QUEUE_BROADCAST)


QUEUE_BROADCAST = "queue"


def init_app(app) -> None:
    """This process refreshes its sockets' queue panels whenever any process says positions moved."""
    app.extensions["hub"].on_broadcast(QUEUE_BROADCAST, lambda: queue_broadcast_received(app))


def queue_broadcast_received(app) -> None:
    """Called by the hub's subscription (it must return quickly). In the web server a burst of
    changes (many moderators connecting, a wave of new conversations) is coalesced per process:
    the first refreshes the panels at once, in the background; changes meanwhile make one more
    refresh ``QUEUE_PUSH_INTERVAL_SECONDS`` later, from the state then, so the panels always end
    on the latest positions. Writing a panel wakes its socket's greenlet, and a thousand of them
    at once would hold every request of the process back at each of its round trips: a refresh
    writes its panels in small batches, at most ``QUEUE_PANELS_PER_SECOND`` a second (a thousand
    queued moderators here: over two seconds), and the next refresh follows that. Elsewhere (a
    threaded server) it is done now, at once."""
    interval = app.config["QUEUE_PUSH_INTERVAL_SECONDS"]
    if not interval or not under_gevent():
        _refresh_queue_panels(app, 0)
        return
    if _queue_refresh["scheduled"]:
        _queue_refresh["again"] = True
        return
    import gevent

    _queue_refresh["scheduled"] = True
    gevent.spawn(_refresh_queue_panels, app, interval)


_queue_refresh = {"scheduled": False, "again": False}  # this process's coalesced queue refresh


def _refresh_queue_panels(app, interval: float) -> None:
    per_second = app.config["QUEUE_PANELS_PER_SECOND"] if interval else 0
    batches = app.config["QUEUE_PANEL_BATCHES_PER_SECOND"]
    try:
        while True:
            _queue_refresh["again"] = False
            try:
                with app.test_request_context(base_url=app.config["PUBLIC_URL"]):
                    try:
                        _push_queue_panels(per_second, batches)
                    finally:
                        db.session.remove()
            except Exception:  # noqa: BLE001 - a failed refresh must not stop the next ones
                log.exception("could not push the queue panels")
            if not interval:
                return
            import gevent

            gevent.sleep(interval)
            if not _queue_refresh["again"]:
                return
    finally:
        _queue_refresh["scheduled"] = False


def _push_queue_panels(per_second: float = 0, batches_per_second: int = 1) -> int:
    """The panels of the queued moderators whose sockets this process holds, written to those
    sockets: one read of the queue and of those moderators, a few renders (``QueuePanels``), then
    the writes, ``per_second`` at most, in ``batches_per_second`` batches a second (the process's
    other work runs between them, and after the last one too, so that refreshes one after the
    other keep the pace; 0: at once). Returns how many were written."""
    from ..clock import utcnow
    from ..services import moderator_queue

    hub = get_hub()
    here = hub.local_user_ids()
    if not here or not hub.listening:  # no socket here, or they are about to reconnect and read anew
        return 0
    locales = {moderator_id: locale for moderator_id, locale in moderator_queue.queued_locales().items()
               if moderator_id in here}
    if not locales:
        return 0
    everyone = moderator_queue.statuses(utcnow(), current_app.config["QUEUE_DEFAULT_WAIT_SECONDS"])
    panels = QueuePanels()
    ready = [(moderator_id, panels.panel(locale, everyone.get(moderator_id, everyone[None])))
             for moderator_id, locale in locales.items()]
    db.session.close()  # read: no connection is held while the panels go out
    paced = per_second > 0
    size = max(1, int(per_second // max(1, batches_per_second))) if paced else 100
    for start in range(0, len(ready), size):
        batch = ready[start:start + size]
        for moderator_id, panel in batch:
            hub.deliver(moderator_id, panel)
        time.sleep(len(batch) / per_second if paced else 0)  # under gevent: requests and sockets run meanwhile
    return len(ready)


class QueuePanels:
    """Queue panels (``moderator/_queue.html``, out of band) for many moderators at once.

    Every panel of one refresh differs from the others only by the moderator's position and
    estimated wait; the rest (the queue's length, waiting conversations, free profiles, the
    buttons) is the same for everyone who reads the same language. So the template is rendered
    once per language and shape, with stand-in numbers where the position and the wait in
    minutes go, and each moderator's panel is that text with their numbers put in: a refresh
    costs a few renders, not one per queued moderator. The panel names nobody: it must stay so
    (a template that shows its viewer would need a render each)."""

    POSITION = 987_654_301  # stand-ins: digits nothing else in a panel can contain
    MINUTES = 987_654_302

    def __init__(self):
        self.shapes: dict[tuple, tuple[str, ...] | None] = {}

    def panel(self, locale: str, status) -> str:
        if not status.in_queue:
            return self._render(locale, status)
        soon = status.estimated_wait_seconds == 0
        key = (locale, soon, status.queued, status.waiting_unassigned, status.profiles_available,
               status.holding_waiting)
        if key not in self.shapes:
            stand_in = dataclasses.replace(status, position=self.POSITION,
                                           estimated_wait_seconds=0 if soon else self.MINUTES * 60)
            text = self._render(locale, stand_in)
            parts = text.split(str(self.POSITION))
            if len(parts) == 2 and (soon or parts[1].count(str(self.MINUTES)) == 1) and str(self.MINUTES) not in parts[0]:
                self.shapes[key] = (parts[0], *parts[1].split(str(self.MINUTES)))
            else:  # a translation that moves or repeats a number: render each such panel
                self.shapes[key] = None
        shape = self.shapes[key]
        if shape is None:
            return self._render(locale, status)
        if soon:
            return shape[0] + str(status.position) + shape[1]
        minutes = (status.estimated_wait_seconds + 59) // 60
        return shape[0] + str(status.position) + shape[1] + str(minutes) + shape[2]

    @staticmethod
    def _render(locale: str, status) -> str:
        """The panel in ``locale``: it shows no time and names nobody, so the language is all
        that it needs of its reader (a refresh reads no user but their language)."""
        with in_language(locale):
            return current_app.jinja_env.get_template("moderator/_queue.html").render(status=status, oob=True)


def lock_status_changed(moderator_id: int, profile_id: int) -> None:
    """The moderator's lock on a profile was taken or released: the entries of that profile's
    conversations in their list (the lock flags), each replaced where it stands, and their locks
    panel. Not the whole list: a moderator answers all day, and reading and rendering a list of
    hundreds of conversations twice per answer costs several times one profile's entries
    (``bench/moderator_side.py``)."""
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
