"""Admin pages: overview, users, profiles, the local outbox."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...clock import utcnow
from ...database import write_transaction
from ...extensions import db
from ...jobs.avatars import enqueue_avatar
from ...models import ChangeReason, Conversation, Role, User
from ...redis_client import get_redis
from ...services import assignment, conflicts, history, locks, monitoring, profiles, unlock_requests, users
from ...services import overview as overview_service
from ...services.errors import FileRefused, ValidationError
from ...services.moderation import sanctions
from ...web.auth import role_required
from ..params import optional_id
from . import bp


@bp.before_request
@role_required(Role.ADMIN)
def admins_only():
    return None


@bp.route("/")
def overview():

    figures = overview_service.overview(get_redis(), current_app.config["RQ_QUEUES"])
    return render_template("admin/overview.html", monitoring=monitoring.last_report(get_redis()), **figures)


@bp.route("/users")
def user_list():
    role = request.args.get("role")
    selected = Role(role) if role in {r.value for r in Role} else None
    return _users_page(selected)


def _users_page(selected: Role | None, status: int = 200):
    listed = users.list_users(selected)
    return render_template("admin/users.html", users=listed, role=selected, roles=list(Role), form_values={},
                           running_sanctions=sanctions.running_by_client([u.id for u in listed if u.is_client],
                                                                         utcnow())), status


@bp.route("/users/<int:user_id>/sanctions", methods=["POST"])
def user_sanction(user_id: int):
    """Ban or mute a client, with a reason and an optional end (a length offered, or a date)."""
    form, now = request.form, utcnow()
    try:
        with write_transaction():
            ends_at = sanctions.ends_at_from(form.get("duration"), form.get("until"), now,
                                             current_app.config["BABEL_DEFAULT_TIMEZONE"])
            sanction = sanctions.impose(current_user, user_id, form.get("kind", ""), form.get("reason", ""),
                                        ends_at, now)
    except ValidationError as exc:
        flash(str(exc.message), "error")
        return _users_page(Role.CLIENT, 422)
    flash(_("The ban is in force.") if sanction.kind == "ban" else _("The mute is in force."), "success")
    return redirect(url_for("admin.user_list", role="client"))


@bp.route("/sanctions/<int:sanction_id>/lift", methods=["POST"])
def sanction_lift(sanction_id: int):
    try:
        with write_transaction():
            sanction = sanctions.lift(current_user, sanction_id, request.form.get("reason", ""), utcnow())
    except ValidationError as exc:
        flash(str(exc.message), "error")
        return _users_page(Role.CLIENT, 422)
    flash(_("The ban is lifted.") if sanction.kind == "ban" else _("The mute is lifted."), "success")
    return redirect(url_for("admin.user_list", role="client"))


@bp.route("/users", methods=["POST"])
def user_create():
    form = request.form
    try:
        role = Role(form.get("role", ""))
    except ValueError:
        role = None
    try:
        if role is None:
            raise ValidationError(_("Choose a role."))
        with write_transaction():
            user = users.create_user(email=form.get("email", ""), password=form.get("password", ""), role=role,
                                     display_name=form.get("display_name", ""), locale=form.get("locale", "fr"))
    except ValidationError as exc:
        flash(str(exc.message), "error")
        return render_template("admin/users.html", users=users.list_users(), role=None, roles=list(Role),
                               form_values=form), 422
    flash(_("Account %(email)s created.", email=user.email), "success")
    return redirect(url_for("admin.user_list"))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
def user_set_active(user_id: int):
    active = request.form.get("active") == "1"
    with write_transaction():
        user = users.set_active(user_id, active, utcnow(), actor=current_user)
    flash(_("%(email)s is now %(state)s.", email=user.email, state=_("active") if active else _("disabled")), "success")
    return redirect(url_for("admin.user_list"))


@bp.route("/users/<int:user_id>/sessions/end", methods=["POST"])
def user_end_sessions(user_id: int):
    with write_transaction():
        user = users.end_sessions(user_id, current_user.id, utcnow())
    flash(_("Every session of %(email)s was ended.", email=user.email), "success")
    return redirect(url_for("admin.user_list"))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def user_set_password(user_id: int):
    try:
        with write_transaction():
            user = users.set_password(user_id, request.form.get("password", ""), current_user.id, utcnow())
    except ValidationError as exc:
        flash(str(exc.message), "error")
        return render_template("admin/users.html", users=users.list_users(), role=None, roles=list(Role),
                               form_values={}), 422
    flash(_("New password for %(email)s; their sessions were ended.", email=user.email), "success")
    return redirect(url_for("admin.user_list"))


@bp.route("/profiles")
def profile_list():
    return render_template("admin/profiles.html", profiles=profiles.list_profiles(active_only=False))


@bp.route("/profiles/new", methods=["GET", "POST"])
def profile_new():
    if request.method == "GET":
        return render_template("admin/profile_form.html", profile=None, values={})
    return _save_profile(None)


@bp.route("/profiles/<int:profile_id>", methods=["GET", "POST"])
def profile_edit(profile_id: int):
    profile = profiles.get_profile(profile_id, active_only=False)
    if request.method == "GET":
        return render_template("admin/profile_form.html", profile=profile, values={})
    return _save_profile(profile_id)


def _save_profile(profile_id):
    form = request.form
    upload = request.files.get("avatar")
    pending = None
    try:
        with write_transaction():
            if profile_id is None:
                profile = profiles.create_profile(name=form.get("name"), age=form.get("age"),
                                                  city=form.get("city"), bio=form.get("bio"))
            else:
                profile = profiles.update_profile(profile_id, name=form.get("name"), age=form.get("age"),
                                                  city=form.get("city"), bio=form.get("bio"),
                                                  active=form.get("active") == "1")
            if upload and upload.filename:
                config = current_app.config
                pending = profiles.store_avatar(profile, upload.read(), config["UPLOAD_DIR"], config["AVATAR_MAX_BYTES"],
                                                config["IMAGE_MAX_PIXELS"], config["IMAGE_MAX_SIDE"])
    except (ValidationError, FileRefused) as exc:
        flash(str(exc.message), "error")
        existing = profiles.get_profile(profile_id, active_only=False) if profile_id else None
        return render_template("admin/profile_form.html", profile=existing, values=form), exc.status_code
    if pending is not None:
        enqueue_avatar(pending)  # after the commit: the job finds the upload and the profile
    flash(_("Profile %(name)s saved.", name=profile.name), "success")
    return redirect(url_for("admin.profile_list"))


@bp.route("/outbox")
def outbox_list():
    from ...dev import outbox

    return render_template("admin/outbox.html", mails=outbox.list_mails(current_app.config["MAIL_OUTBOX_DIR"]),
                           mail=None)


@bp.route("/outbox/<key>")
def outbox_mail(key: str):
    from ...dev import outbox

    mail = outbox.get_mail(current_app.config["MAIL_OUTBOX_DIR"], key)
    if mail is None:
        abort(404)
    return render_template("admin/outbox.html", mails=outbox.list_mails(current_app.config["MAIL_OUTBOX_DIR"]),
                           mail=mail)


# An HTML mail's own page, framed by the outbox (sandboxed): mails style themselves inline, which
# the site's CSP refuses; this response alone allows inline styles and nothing else (no script,
# no request anywhere, images only inline).
MAIL_PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"


@bp.route("/outbox/<key>/html")
def outbox_mail_html(key: str):
    from ...dev import outbox

    mail = outbox.get_mail(current_app.config["MAIL_OUTBOX_DIR"], key)
    if mail is None or mail["html"] is None:
        abort(404)
    response = current_app.response_class(mail["html"], mimetype="text/html")
    response.headers["Content-Security-Policy"] = MAIL_PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.route("/locks")
def lock_list():
    now = utcnow()
    return render_template("admin/locks.html", profile_locks=locks.active_profile_locks(now),
                           client_locks=locks.active_client_locks(now), requests=unlock_requests.pending_requests(),
                           now=now)


@bp.route("/locks/requests/<int:request_id>", methods=["POST"])
def lock_request_decide(request_id: int):
    grant = request.form.get("grant") == "1"
    with write_transaction():
        decided = unlock_requests.decide(current_user, request_id, grant, utcnow())
    flash(_("Unlock of %(name)s granted.", name=decided.profile.name) if grant
          else _("Unlock of %(name)s refused.", name=decided.profile.name), "success")
    return redirect(url_for("admin.lock_list"))


@bp.route("/assignments")
def assignment_history():
    reason = request.args.get("reason")
    filters = {
        "moderator_id": optional_id(request.args.get("moderator")),
        "reason": ChangeReason(reason) if reason in {r.value for r in ChangeReason} else None,
        "conversation_id": optional_id(request.args.get("conversation")),
    }
    return render_template("admin/assignments.html", changes=history.changes(**filters), filters=filters,
                           reasons=list(ChangeReason), moderators=users.list_users(Role.MODERATOR),
                           holdings=history.holdings(filters["moderator_id"]))


@bp.route("/assignments/reassign", methods=["POST"])
def reassign():
    conversation_id = optional_id(request.form.get("conversation_id"))
    moderator_id = optional_id(request.form.get("moderator_id"))
    conversation = db.session.get(Conversation, conversation_id) if conversation_id else None
    target = db.session.get(User, moderator_id) if moderator_id else None
    if conversation is None:
        abort(404)
    if target is None or not target.is_moderator or not target.active:
        flash(_("Choose an active moderator."), "error")
        return redirect(url_for("admin.assignment_history", conversation=conversation_id)), 303
    with write_transaction():
        moved = assignment.reassign(conversation_id, target.id, utcnow(), ChangeReason.MANUAL, actor=current_user)
    if moved:
        flash(_("Conversation #%(id)d now goes to %(name)s, with the other conversations of %(profile)s.",
                id=conversation_id, name=target.display_name, profile=conversation.profile.name), "success")
    else:
        flash(_("Nothing changed: %(name)s already holds it.", name=target.display_name), "info")
    return redirect(url_for("admin.assignment_history", conversation=conversation_id))


@bp.route("/conflicts")
def conflict_list():
    kind = request.args.get("kind") or None
    return render_template("admin/conflicts.html", conflicts=conflicts.listing(kind=kind), kind=kind)


@bp.route("/rounds")
def rounds_page():
    """Notification rounds: the current cycle, the history, the settings in force."""
    from datetime import timedelta

    from ...services import rounds

    settings = rounds.Settings.from_config(current_app.config)
    now = utcnow()
    config = current_app.config
    timings = {name: timedelta(seconds=config[name]) for name in (
        "ROUNDS_PROCESS_SECONDS", "ROUNDS_CHECK_SECONDS", "ROUNDS_CHECK_AFTER_SECONDS", "ROUNDS_MIN_PENDING_AGE_SECONDS",
        "PRESENCE_HEARTBEAT_SECONDS", "PRESENCE_GRACE_SECONDS", "PRESENCE_OFFLINE_AFTER_SECONDS",
        "PRESENCE_ACTIVITY_CHECK_SECONDS")}
    return render_template("admin/rounds.html", state=rounds.cycle_state(now, settings), history=rounds.history(),
                           settings=settings, timings=timings, now=now,
                           moderators=users.list_users(Role.MODERATOR))
