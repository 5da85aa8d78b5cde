"""The moderator workspace: their conversations, one open beside the client and the profile."""
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ...clock import utcnow
from ...database import write_transaction
from ...models import Role
from ...jobs.photos import enqueue_photo
from ...redis_client import get_redis
from ...services import chat, conflicts, conversation_view, locks, moderator_queue, presence, reading, unlock_requests
from ...services.moderation import sanctions
from ...services.photos import uploads
from ...services.photos.storage import storage_from
from ...web.auth import role_required
from ...web.fragments import message_html
from ..params import history_bounds, optional_id, refresh_from, reply_to, required_id
from . import bp

moderator_only = role_required(Role.MODERATOR)


@bp.route("/")
@moderator_only
def workspace():
    return render_template("moderator/workspace.html", current=None, **_listing())


@bp.route("/conversations")
@moderator_only
def conversation_list():
    """The list; with ``filter``/``sort`` the moderator changes how they see it (kept for them)."""
    if "filter" in request.args or "sort" in request.args:
        view = conversation_view.parse(request.args.get("filter"), request.args.get("sort"))
        conversation_view.save(get_redis(), current_user.id, view)
        listing = _listing()
        return (render_template("moderator/_conversation_list.html", **listing)
                + render_template("moderator/_list_controls.html", oob=True, **listing))
    return render_template("moderator/_conversation_list.html", **_listing())


def _listing() -> dict:
    view = conversation_view.saved(get_redis(), current_user.id)
    return {"view": view, "conversations": conversation_view.conversations(current_user.id, view)}


@bp.route("/c/<int:conversation_id>")
@moderator_only
def conversation(conversation_id: int):
    """A conversation, opened where the profile's side left off (the page marks what it shows), or
    at a message (``around``, a search result)."""
    config = current_app.config
    around = optional_id(request.args.get("around"))
    if around is None:
        opened = reading.open_for_moderator(current_user, conversation_id, size=config["HISTORY_PAGE_SIZE"],
                                            unread_max=config["HISTORY_UNREAD_MAX"])
    else:
        opened = reading.open_around_for_moderator(current_user, conversation_id, around,
                                                   size=config["HISTORY_PAGE_SIZE"],
                                                   reach_max=config["HISTORY_AROUND_MAX"])
    context = {"current": opened.conversation, "page": opened.page, "first_unread_id": opened.first_unread_id,
               "opened": opened, "focus_id": opened.focus_id, "has_newer": opened.has_newer,
               "client_sanctions": sanctions.running(opened.conversation.client_id, utcnow())}
    if request.htmx and request.htmx.target == "conversation-panel":
        return render_template("moderator/_conversation_panel.html", **context)
    return render_template("moderator/workspace.html", **_listing(), **context)


@bp.route("/c/<int:conversation_id>/messages", methods=["GET"])
@moderator_only
def messages(conversation_id: int):
    """Older history (``before``) or catch-up after a reconnect (``after``, with the reactions of
    the page's messages from ``refresh_from`` on): bubbles only."""
    before, after = history_bounds(request.args)
    current, page = reading.moderator_history(current_user, conversation_id, size=current_app.config["HISTORY_PAGE_SIZE"],
                                              before_id=before, after_id=after,
                                              refresh_from=refresh_from(request.args))
    return render_template("moderator/_history.html", current=current, page=page, viewer_side="profile")


@bp.route("/c/<int:conversation_id>/read", methods=["POST"])
@moderator_only
def read(conversation_id: int):
    """The page showed the conversation up to a message (the newest one in view)."""
    up_to = required_id(request.form.get("up_to"))
    with write_transaction():
        reading.mark_read_by_moderator(current_user, conversation_id, up_to, utcnow())
    return "", 204


@bp.route("/c/<int:conversation_id>/messages", methods=["POST"])
@moderator_only
def reply(conversation_id: int):
    """The moderator's answer as the profile, or a photo (a ``photo`` file, the text its caption),
    maybe answering a message (``reply_to``)."""
    config = current_app.config
    reply_to_id = reply_to(request.form)
    upload = request.files.get("photo")
    if upload is not None and upload.filename:
        limits = uploads.Limits.from_config(config)
        sent = uploads.send_profile_photo(current_user, conversation_id, upload.read(limits.max_bytes + 1),
                                          request.form.get("body"), request.form.get("client_token"), utcnow(),
                                          storage_from(config), limits, config["MESSAGE_MAX_LENGTH"], reply_to_id)
        if sent.to_process:
            enqueue_photo(sent.to_process)  # after the commit: the job finds the photo
        return message_html(sent.posted.message, "profile", str(get_locale()))
    with write_transaction():
        posted = chat.post_profile_reply(current_user, conversation_id, request.form.get("body"),
                                         request.form.get("client_token"), utcnow(),
                                         config["MESSAGE_MAX_LENGTH"], reply_to_id=reply_to_id,
                                         language=str(get_locale()))
    return message_html(posted.message, "profile", str(get_locale()))


@bp.route("/c/<int:conversation_id>/mute", methods=["POST"])
@moderator_only
def mute(conversation_id: int):
    """Mute the client of a conversation the moderator holds, for a while, with a reason; the
    answer is the client card's sanction widget."""
    with write_transaction():
        sanction = sanctions.mute_from_conversation(current_user, conversation_id, request.form.get("reason", ""),
                                                    request.form.get("duration"), utcnow())
    return render_template("moderation/_moderator_mute.html", conversation_id=conversation_id,
                           client_sanctions={"mute": sanction})


@bp.route("/locks/status")
@moderator_only
def locks_status():
    """Which profiles are locked, by whom, until when (a fragment that refreshes itself)."""
    return render_template("moderator/_locks.html", profile_locks=locks.active_profile_locks(utcnow()),
                           now=utcnow())


@bp.route("/locks/request-unlock", methods=["POST"])
@moderator_only
def request_unlock():
    profile_id = required_id(request.form.get("profile_id"))
    with write_transaction():
        unlock = unlock_requests.request_unlock(current_user, profile_id, request.form.get("reason", ""), utcnow())
    return render_template("partials/_alert.html", level="success",
                           message=_("Unlock requested for %(name)s: an admin will decide.", name=unlock.profile.name))


@bp.route("/conflicts/resolve", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def conflicts_resolve():
    """Admins see the open assignment conflicts here and close them with a note."""
    if request.method == "POST":
        conflict_id = required_id(request.form.get("conflict_id"))
        with write_transaction():
            conflicts.resolve(conflict_id, current_user, request.form.get("note", ""), utcnow())
        flash(_("Conflict #%(id)d resolved.", id=conflict_id), "success")
        return redirect(url_for("moderator.conflicts_resolve"))
    return render_template("moderator/conflicts.html", conflicts=conflicts.listing(open_only=True))


def _queue_panel():
    status = moderator_queue.status(current_user.id, utcnow(), current_app.config["QUEUE_DEFAULT_WAIT_SECONDS"])
    return render_template("moderator/_queue.html", status=status)


@bp.route("/queue/status")
@moderator_only
def queue_status():
    """Position in the queue, estimated wait, work waiting for nobody (a self-refreshing fragment)."""
    return _queue_panel()


@bp.route("/queue/leave", methods=["POST"])
@moderator_only
def queue_leave():
    """Step out: no new conversations until rejoining (current ones stay)."""
    with write_transaction():
        moderator_queue.leave(current_user.id)
    return _queue_panel()


@bp.route("/queue/join", methods=["POST"])
@moderator_only
def queue_join():
    with write_transaction():
        presence.moderator_available(current_user.id, utcnow())
    return _queue_panel()


@bp.route("/heartbeat", methods=["POST"])
@moderator_only
def heartbeat():
    """The page is alive (every 2 minutes, socket or not): online, and back in the queue if not."""
    with write_transaction():
        presence.heartbeat(current_user, utcnow())
    return "", 204


@bp.route("/offline", methods=["POST"])
@moderator_only
def offline():
    """The page is going away (its beacon on pagehide): offline after the grace, unless a page of
    this moderator comes back meanwhile (a reload)."""
    from ...jobs.presence import schedule_offline_check

    schedule_offline_check(current_user.id, utcnow())
    return "", 204
