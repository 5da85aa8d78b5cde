"""Client pages: browse profiles, chat with one."""
from flask import current_app, redirect, render_template, request, send_file, send_from_directory, url_for
from flask_login import current_user, login_required

from ...clock import utcnow
from ...models import Role
from ...database import write_transaction
from ...jobs.exports import enqueue_export
from ...jobs.photos import enqueue_photo
from ...services import chat, profiles, reactions, reading, sending
from ...services.exports import access as exports
from ...services.moderation import sanctions
from ...services.exports.files import storage_from as export_storage_from
from ...services.photos import uploads, viewing
from ...services.photos.storage import storage_from
from ...web.auth import home_for, role_required, session_user_id, session_user_required, session_version
from ...web.fragments import client_sent_html
from ...web.i18n import locale_without_database
from ...web.send_limit import send_limited
from ..params import history_bounds, refresh_from, reply_to, required_id
from . import bp

client_only = role_required(Role.CLIENT)


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(home_for(current_user))


@bp.route("/profiles")
@client_only
def home():
    standing = sanctions.running(current_user.id, utcnow())
    if "ban" in standing:
        return _banned(standing["ban"])
    return render_template("chat/home.html", profiles=profiles.list_profiles(),
                           conversations=chat.client_conversations(current_user.id))


@bp.route("/profiles/conversations")
@client_only
def conversation_strip():
    """The client's conversations (previews, unread counts): the page asks again after a reconnect."""
    return render_template("chat/_conversation_strip.html", conversations=chat.client_conversations(current_user.id))


@bp.route("/unread")
@client_only
def unread_total():
    """The top bar's badge: the profiles' messages the client has not read, in every conversation."""
    return render_template("partials/_unread_total.html", viewer_is_client=True, unread_total=reading.client_unread_total(current_user.id))


@bp.route("/profiles/<int:profile_id>")
@client_only
def conversation(profile_id: int):
    """The chat with a profile, opened where the client left off (the page marks what it shows); a
    banned client is told why instead, a muted one reads with the composer saying until when."""
    standing = sanctions.running(current_user.id, utcnow())
    if "ban" in standing:
        return _banned(standing["ban"])
    profile, opened = reading.open_for_client(current_user, profile_id, size=current_app.config["HISTORY_PAGE_SIZE"],
                                              unread_max=current_app.config["HISTORY_UNREAD_MAX"])
    return render_template("chat/conversation.html", profile=profile, conversation=opened.conversation,
                           page=opened.page, first_unread_id=opened.first_unread_id, opened=opened,
                           mute=standing.get("mute"), opens_conversation=opened.conversation is None)


@bp.route("/profiles/<int:profile_id>/composer")
@client_only
def composer(profile_id: int):
    """The chat's composer as the client's standing has it now (the page asks when a push says a
    ban or mute changed, and after a reconnect): the send form, or until when they are muted."""
    standing = sanctions.running(current_user.id, utcnow())
    if "ban" in standing:
        return _banned(standing["ban"])
    return render_template("moderation/_composer_box.html", profile=profiles.get_profile(profile_id),
                           mute=standing.get("mute"))


def _banned(ban):
    """A banned client's page: why and until when, and no socket."""
    return render_template("moderation/banned.html", ban=ban, without_socket=True), 403


@bp.route("/profiles/<int:profile_id>/messages", methods=["GET"])
@client_only
def messages(profile_id: int):
    """Older history (``before``) or catch-up after a reconnect (``after``, with the reactions of
    the page's messages from ``refresh_from`` on): bubbles only."""
    before, after = history_bounds(request.args)
    profile, page = reading.client_history(current_user, profile_id, size=current_app.config["HISTORY_PAGE_SIZE"],
                                           before_id=before, after_id=after,
                                           refresh_from=refresh_from(request.args))
    return render_template("chat/_history.html", profile=profile, page=page, viewer_side="client")


@bp.route("/profiles/<int:profile_id>/read", methods=["POST"])
@client_only
def read(profile_id: int):
    """The page showed the conversation up to a message (the newest one in view)."""
    up_to = required_id(request.form.get("up_to"))
    with write_transaction():
        reading.mark_read_by_client(current_user, profile_id, up_to, utcnow())
    return "", 204


@bp.route("/profiles/<int:profile_id>/messages", methods=["POST"])
@session_user_required
@send_limited
def send(profile_id: int):
    """A client's message, or photo message (a ``photo`` file, the text its caption), maybe
    answering one (``reply_to``); the answer is its bubble (the push to the client's pages is the
    same) and the conversation it went into."""
    config = current_app.config
    reply_to_id = reply_to(request.form)
    upload = request.files.get("photo")
    if upload is not None and upload.filename:
        limits = uploads.Limits.from_config(config)
        sent = uploads.send_client_photo(session_user_id(), profile_id, upload.read(limits.max_bytes + 1),
                                         request.form.get("body"), request.form.get("client_token"), utcnow(),
                                         storage_from(config), limits, config["MESSAGE_MAX_LENGTH"], session_version(),
                                         reply_to_id)
        if sent.to_process:
            enqueue_photo(sent.to_process)  # after the commit: the job finds the photo
        posted = sent.posted
    else:
        posted = sending.send_client_message(session_user_id(), profile_id, request.form.get("body"),
                                             request.form.get("client_token"), utcnow(),
                                             config["MESSAGE_MAX_LENGTH"], session_version(), reply_to_id=reply_to_id,
                                             language=locale_without_database(), opens=request.form.get("opens") == "1")
    return client_sent_html(posted.message)


@bp.route("/messages/<int:message_id>/reactions", methods=["GET"])
@login_required
def reactions_bar(message_id: int):
    """A message's reactions, for its conversation's client, the moderator holding it and admins."""
    return _reactions_bar(reactions.reactions_of(current_user, message_id))


@bp.route("/messages/<int:message_id>/reactions", methods=["POST"])
@login_required
def react(message_id: int):
    """Give or take back a reaction (``emoji``) on a message: the client as themselves, a moderator
    or an admin as the profile; the answer is the message's reactions (both sides get them pushed)."""
    with write_transaction():
        changed = reactions.toggle_reaction(current_user, message_id, request.form.get("emoji"), utcnow(),
                                            current_app.config["REACTIONS_PER_MESSAGE_MAX"])
    return _reactions_bar(changed)


def _reactions_bar(found: reactions.Reactions):
    return render_template("partials/_reactions.html", message=found.message, reactions=found.counts,
                           viewer_side=found.side)


@bp.route("/photos/<photo_id>")
@login_required
def photo(photo_id: str):
    """A photo's figure: the placeholder asks for it until the photo is ready (in case the push
    was missed). Clients, moderators and admins: the service checks who may see it."""
    return render_template("partials/_photo.html", photo=viewing.viewable_photo(current_user, photo_id))


@bp.route("/photos/<photo_id>/<variant>")
@login_required
def photo_file(photo_id: str, variant: str):
    """A size made from a photo (never its original), checked at every request: the browser keeps
    it but asks again each time (``no-cache``), so an access that ended ends here too."""
    found = viewing.photo_file(current_user, photo_id, variant, storage_from(current_app.config))
    response = send_file(found.path, mimetype=found.mimetype, conditional=True)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.route("/conversations/<int:conversation_id>/exports")
@login_required
def exports_panel(conversation_id: int):
    """A conversation's export panel: the form and the viewer's latest exports of it (its client, or an admin)."""
    return render_template("partials/_exports_body.html",
                           panel=exports.exports_panel(current_user, conversation_id, utcnow()))


@bp.route("/conversations/<int:conversation_id>/exports", methods=["POST"])
@login_required
def export_create(conversation_id: int):
    """Ask for an export (``format``: pdf, csv or json); the answer is the panel with it queued,
    and its job follows the commit."""
    with write_transaction():
        asked = exports.request_export(current_user, conversation_id, request.form.get("format"), utcnow(),
                                       exports.Limits.from_config(current_app.config))
    enqueue_export(asked.export_id)
    return render_template("partials/_exports_body.html", panel=asked.panel)


@bp.route("/exports/<export_id>")
@login_required
def export_status(export_id: str):
    """An unfinished export's entry, asked for again now and then in case a push was missed."""
    return render_template("partials/_export.html", export=exports.owned_export(current_user, export_id), now=utcnow())


@bp.route("/exports/<export_id>/file")
@login_required
def export_file(export_id: str):
    """The export's file, to its owner alone, checked at every request; never kept by a cache."""
    found = exports.export_file(current_user, export_id, export_storage_from(current_app.config), utcnow())
    response = send_file(found.path, mimetype=found.mimetype, as_attachment=True, download_name=found.download_name)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/avatars/<path:filename>")
@login_required
def avatar(filename: str):
    return send_from_directory(f"{current_app.config['UPLOAD_DIR']}/avatars", filename, max_age=86400)

