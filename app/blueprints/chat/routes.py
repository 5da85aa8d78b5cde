"""Client pages: browse profiles, chat with one."""
from flask import current_app, redirect, render_template, request, send_from_directory, url_for
from flask_login import current_user, login_required

from ...web.auth import checked_user, home_for, role_required, session_user_id
from ..params import optional_id
from ...database import write_transaction
from ...models import Role
from ...clock import utcnow
from ...realtime import push
from ...services import chat, profiles
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
    return render_template("chat/home.html", profiles=profiles.list_profiles(),
                           conversations=chat.client_conversations(current_user.id))


@bp.route("/profiles/<int:profile_id>")
@client_only
def conversation(profile_id: int):
    profile = profiles.get_profile(profile_id)
    conversation = chat.find_conversation(current_user.id, profile.id)
    messages = chat.history(conversation.id, limit=current_app.config["HISTORY_PAGE_SIZE"]) if conversation else []
    return render_template("chat/conversation.html", profile=profile, conversation=conversation,
                           messages=messages, page_size=current_app.config["HISTORY_PAGE_SIZE"])


@bp.route("/profiles/<int:profile_id>/messages", methods=["GET"])
@client_only
def messages(profile_id: int):
    """Older history (``before``) or catch-up after a reconnect (``after``): bubbles only."""
    profile = profiles.get_profile(profile_id)
    conversation = chat.find_conversation(current_user.id, profile.id)
    before, after = optional_id(request.args.get("before")), optional_id(request.args.get("after"))
    rows = []
    if conversation is not None:
        rows = chat.history(conversation.id, before_id=before, after_id=after,
                            limit=current_app.config["HISTORY_PAGE_SIZE"])
    return render_template("chat/_history.html", profile=profile, messages=rows, older=before is not None, after=after,
                           page_size=current_app.config["HISTORY_PAGE_SIZE"], viewer_side="client")


@bp.route("/profiles/<int:profile_id>/messages", methods=["POST"])
def send(profile_id: int):
    """A client's message. The usual case (a client writing in a conversation they have) is one
    statement that also checks the sender, with no user loaded first: on PostgreSQL its own
    transaction when nothing follows it (a held, active conversation), else in a write
    transaction; anything else goes the checked way (``_send_as_current_user``)."""
    client_id = session_user_id()
    if client_id is None:
        return _send_as_current_user(profile_id)
    args = (client_id, profile_id, request.form.get("body"), request.form.get("client_token"), utcnow(),
            current_app.config["MESSAGE_MAX_LENGTH"])
    posted = chat.post_as_session_client_at_once(*args)
    if posted is None:
        with write_transaction():
            posted = chat.post_as_session_client(*args)
    if posted is None:
        return _send_as_current_user(profile_id)
    checked_user(posted.message.conversation.client)
    return _answer(posted)


@client_only
def _send_as_current_user(profile_id: int):
    with write_transaction():
        posted = chat.post_client_message(current_user, profile_id, request.form.get("body"),
                                          request.form.get("client_token"), utcnow(),
                                          current_app.config["MESSAGE_MAX_LENGTH"])
    return _answer(posted)


def _answer(posted: chat.Posted):
    message = posted.message
    if posted.created:
        push.message_posted(message)
    return push.message_html(message, "client")  # the bubble the push just rendered


@bp.route("/avatars/<path:filename>")
@login_required
def avatar(filename: str):
    return send_from_directory(f"{current_app.config['UPLOAD_DIR']}/avatars", filename, max_age=86400)

