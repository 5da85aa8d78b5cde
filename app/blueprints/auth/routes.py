from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ...clock import utcnow
from ...database import write_transaction
from ...extensions import limiter
from ...jobs import enqueue_welcome_email
from ...models import Role
from ...services import users
from ...services.errors import ValidationError
from ...web.auth import home_for, path_of, safe_next
from ...web.i18n import LANG_COOKIE, SESSION_LOCALE_KEY
from . import bp
from .forms import LoginForm, SignupForm


def _account_key() -> str:
    """The account a log-in names, as find_by_email matches it (case and spaces do not count)."""
    email = request.form.get("email")
    return "account:" + (email.strip().lower() if isinstance(email, str) else "")


def _address_key() -> str:
    return "address:" + (request.remote_addr or "")


def _failed(response) -> bool:
    return response.status_code == 401  # wrong e-mail or password; not a success, nor a malformed form


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
    status = 200
    if form.validate_on_submit():
        try:
            with write_transaction():
                user = users.create_user(email=form.email.data, password=form.password.data, role=Role.CLIENT,
                                         display_name=form.display_name.data, locale=form.locale.data)
        except ValidationError as exc:
            flash(str(exc.message), "error")
            status = 422
        else:
            enqueue_welcome_email(user)
            login_user(user)
            flash(_("Welcome to Switchboard, %(name)s!", name=user.display_name), "success")
            return redirect(url_for("chat.home"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/signup.html", form=form), status


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
            current_user.locale = code
        session[SESSION_LOCALE_KEY] = code
    response = redirect(safe_next(request.form.get("next")) or url_for("auth.login"))
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
