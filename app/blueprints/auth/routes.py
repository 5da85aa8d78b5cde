from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ...clock import utcnow
from ...database import write_transaction
from ...extensions import limiter
from ...jobs import enqueue_activation_email, enqueue_password_reset_email, enqueue_welcome_email
from ...services import account_links, users
from ...services.errors import ValidationError
from ...web.auth import home_for, path_of, safe_next
from ...web.i18n import LANG_COOKIE, SESSION_LOCALE_KEY
from . import bp
from .forms import ForgotPasswordForm, LoginForm, NewPasswordForm, SignupForm


def _account_key() -> str:
    """The account a log-in names, as find_by_email matches it (case and spaces do not count)."""
    email = request.form.get("email")
    return "account:" + (email.strip().lower() if isinstance(email, str) else "")


def _address_key() -> str:
    return "address:" + (request.remote_addr or "")


def _failed(response) -> bool:
    return response.status_code == 401  # wrong e-mail or password; not a success, nor a malformed form


PENDING_ACTIVATION_KEY = "sb_pending_activation"  # the account a "check your mail" page is about


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN_ACCOUNT"], key_func=_account_key, methods=["POST"],
               deduct_when=_failed)
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN_ADDRESS"], key_func=_address_key, methods=["POST"],
               deduct_when=_failed)
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data)
        if user is not None and user.email_confirmed_at is None and current_app.config["ACCOUNT_ACTIVATION"]:
            session[PENDING_ACTIVATION_KEY] = user.id
            return render_template("auth/login.html", form=form, unconfirmed=True), 403
        if user is not None:
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or home_for(user))
        flash(_("Wrong e-mail or password."), "error")
        status = 401
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGNUP"], key_func=_address_key, methods=["POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = SignupForm()
    if not form.is_submitted():
        form.locale.data = str(get_locale())  # the language this page speaks
    status = 200
    if form.validate_on_submit():
        activation, now = current_app.config["ACCOUNT_ACTIVATION"], utcnow()
        try:
            with write_transaction():
                user = account_links.sign_up(email=form.email.data, password=form.password.data,
                                             display_name=form.display_name.data, locale=form.locale.data,
                                             time_zone=form.time_zone.data, now=now, activation=activation)
        except ValidationError as exc:
            flash(str(exc.message), "error")
            status = 422
        else:
            if activation:
                _send_activation(user, now)
                session[PENDING_ACTIVATION_KEY] = user.id
                # the "check your mail" page speaks the language just chosen
                return _with_language(redirect(url_for("auth.activation_sent")), user.locale)
            enqueue_welcome_email(user)
            login_user(user)
            flash(_("Welcome to Switchboard, %(name)s!", name=user.display_name), "success")
            return redirect(url_for("chat.home"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/signup.html", form=form, password_autocomplete="new-password"), status


def _send_activation(user, now) -> None:
    config = current_app.config
    token = account_links.make_token(user, account_links.ACTIVATION, config["SECRET_KEY"], now)
    enqueue_activation_email(user, token, url_for("auth.activate", token=token),
                             config["ACTIVATION_TOKEN_MAX_AGE_SECONDS"])


def _pending_key() -> str:
    pending = session.get(PENDING_ACTIVATION_KEY)
    return f"activation:{pending if isinstance(pending, int) else ''}"


@bp.route("/activation")
def activation_sent():
    """"Check your mail": the account waiting for its link, with a button to send it again."""
    pending = account_links.pending_activation(session.get(PENDING_ACTIVATION_KEY),
                                               current_app.config["ACCOUNT_ACTIVATION"])
    if pending is None:
        session.pop(PENDING_ACTIVATION_KEY, None)
        return redirect(url_for("auth.login"))
    return render_template("auth/activation_sent.html", pending=pending)


@bp.route("/activation/resend", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_ACTIVATION_RESEND"], key_func=_pending_key)
def activation_resend():
    pending = account_links.pending_activation(session.get(PENDING_ACTIVATION_KEY),
                                               current_app.config["ACCOUNT_ACTIVATION"])
    if pending is None:
        return redirect(url_for("auth.login"))
    _send_activation(pending, utcnow())
    flash(_("We sent the activation link again to %(email)s.", email=pending.email), "success")
    return redirect(url_for("auth.activation_sent"))


@bp.route("/activate/<token>")
def activate(token: str):
    """An activation link followed: the account is confirmed and logged in (the welcome mail
    goes once); a second visit says it was done already."""
    config, now = current_app.config, utcnow()
    try:
        with write_transaction():
            confirmation = account_links.confirm_email(token, config["SECRET_KEY"],
                                                       config["ACTIVATION_TOKEN_MAX_AGE_SECONDS"], now)
    except account_links.InvalidLink as exc:
        return render_template("auth/link_invalid.html", message=exc.message, again_url=url_for("auth.login"),
                               again_label=_("Log in to get a new activation link")), exc.status_code
    user = confirmation.user
    session.pop(PENDING_ACTIVATION_KEY, None)
    if confirmation.already:
        flash(_("Your account was already activated: log in."), "info")
        return redirect(home_for(current_user) if current_user.is_authenticated else url_for("auth.login"))
    enqueue_welcome_email(user)
    if current_user.is_authenticated and current_user.id != user.id:
        logout_user()
    login_user(user)
    flash(_("Your account is activated. Welcome to Switchboard, %(name)s!", name=user.display_name), "success")
    return redirect(home_for(user))


def _reset_account_key() -> str:
    """The account a reset asks for, as find_by_email matches it (case and spaces do not count)."""
    email = request.form.get("email")
    return "reset:" + (email.strip().lower() if isinstance(email, str) else "")


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_RESET_ACCOUNT"], key_func=_reset_account_key, methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_RESET_ADDRESS"], key_func=_address_key, methods=["POST"])
def password_forgot():
    """Ask for a reset link: the same answer whether an account has this address or not."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = account_links.account_for_reset(form.email.data)
        if user is not None:
            config = current_app.config
            token = account_links.make_token(user, account_links.PASSWORD_RESET, config["SECRET_KEY"], utcnow())
            enqueue_password_reset_email(user, token, url_for("auth.password_reset", token=token),
                                         config["RESET_TOKEN_MAX_AGE_SECONDS"])
        return render_template("auth/password_forgot.html", form=form, sent=True)
    return render_template("auth/password_forgot.html", form=form, sent=False), 422 if form.is_submitted() else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_RESET_SUBMIT"], key_func=_address_key, methods=["POST"])
def password_reset(token: str):
    """A reset link: a form for the new password; once set, every session of the account ends
    and its owner logs in with it."""
    config = current_app.config
    form = NewPasswordForm()
    status = 200
    try:
        if form.validate_on_submit():
            with write_transaction():
                account_links.reset_password(token, form.new_password.data, config["SECRET_KEY"],
                                             config["RESET_TOKEN_MAX_AGE_SECONDS"], utcnow())
            if current_user.is_authenticated:
                logout_user()
            flash(_("Your password is changed. Log in with it."), "success")
            return redirect(url_for("auth.login"))
        account_links.check_reset_token(token, config["SECRET_KEY"], config["RESET_TOKEN_MAX_AGE_SECONDS"], utcnow())
        if form.is_submitted():
            status = 422
    except account_links.InvalidLink as exc:
        return render_template("auth/link_invalid.html", message=exc.message,
                               again_url=url_for("auth.password_forgot"),
                               again_label=_("Ask for a new link")), exc.status_code
    except ValidationError as exc:
        flash(str(exc.message), "error")
        status = 422
    return render_template("auth/password_reset.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Ends the account's sessions everywhere (a copy of this cookie too), then this one."""
    with write_transaction():
        users.end_sessions(current_user.id, current_user.id, utcnow())
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    if code not in current_app.config["LANGUAGES"]:
        return redirect(safe_next(path_of(request.referrer)) or url_for("auth.login"))
    if current_user.is_authenticated:
        with write_transaction():
            users.set_locale(current_user, code)
        session[SESSION_LOCALE_KEY] = code
    return _with_language(redirect(safe_next(request.form.get("next")) or url_for("auth.login")), code)


def _with_language(response, code: str):
    """``response`` setting the language cookie (pages before and after log-in speak it)."""
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
