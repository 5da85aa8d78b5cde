"""Client pages: browse profiles, chat with one."""
from flask import current_app, redirect, render_template, request, send_from_directory, url_for
from flask_login import current_user, login_required

from ...clock import utcnow
from ...models import Role
from ...services import chat, profiles, sending
from ...web.auth import home_for, role_required, session_user_id, session_user_required, session_version
from ...web.fragments import message_html
from ...web.send_limit import send_limited
from ..params import optional_id
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
@session_user_required
@send_limited
def send(profile_id: int):
    """A client's message; the answer is its bubble (the push to the client's pages is the same)."""
    posted = sending.send_client_message(session_user_id(), profile_id, request.form.get("body"),
                                         request.form.get("client_token"), utcnow(),
                                         current_app.config["MESSAGE_MAX_LENGTH"], session_version())
    return message_html(posted.message, "client", posted.message.conversation.client.locale)


@bp.route("/avatars/<path:filename>")
@login_required
def avatar(filename: str):
    return send_from_directory(f"{current_app.config['UPLOAD_DIR']}/avatars", filename, max_age=86400)

