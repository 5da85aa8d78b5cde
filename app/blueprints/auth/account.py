"""The account page (every role): the name shown, language, time zone, password, which
notifications are mailed."""
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from ...clock import utcnow
from ...database import write_transaction
from ...extensions import limiter
from ...services import notifications, users
from ...services.errors import ValidationError
from ...web.i18n import SESSION_LOCALE_KEY
from . import bp
from .forms import AccountSettingsForm, MailPreferencesForm, PasswordChangeForm


def _account_page(settings=None, password=None, mail=None, status: int = 200):
    settings = settings or AccountSettingsForm(formdata=None, obj=current_user)
    settings.time_zone.choices = users.time_zones()
    return render_template("auth/account.html", settings=settings, password=password or PasswordChangeForm(formdata=None),
                           mail=mail or MailPreferencesForm(formdata=None),
                           mail_choices=notifications.mail_choices(current_user)), status


@bp.route("/account")
@login_required
def account():
    return _account_page()


@bp.route("/account/settings", methods=["POST"])
@login_required
def account_settings():
    form = AccountSettingsForm()
    if not form.validate_on_submit():
        return _account_page(settings=form, status=422)
    try:
        with write_transaction():
            users.update_settings(current_user, display_name=form.display_name.data, locale=form.locale.data,
                                  time_zone=form.time_zone.data)
    except ValidationError as exc:
        flash(str(exc.message), "error")
        return _account_page(settings=form, status=exc.status_code)
    session[SESSION_LOCALE_KEY] = current_user.locale
    flash(_("Your settings are saved."), "success")
    return redirect(url_for("auth.account"))


def _user_key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else "user:"


@bp.route("/account/password", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_PASSWORD_CHANGE"], key_func=_user_key)
@login_required
def account_password():
    """A new password, the current one first; the other sessions of the account end, this one goes on."""
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _account_page(password=form, status=422)
    try:
        with write_transaction():
            user = users.change_own_password(current_user, form.current_password.data, form.new_password.data,
                                             utcnow())
    except ValidationError as exc:
        flash(str(exc.message), "error")
        return _account_page(password=form, status=exc.status_code)
    login_user(user)  # this session holds the account's new session version
    flash(_("Your password is changed. Your other sessions were ended."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/mail", methods=["POST"])
@login_required
def account_mail():
    """The notification kinds mailed: those checked; the others stay in the app only."""
    form = MailPreferencesForm()
    if not form.validate_on_submit():
        return _account_page(mail=form, status=422)
    with write_transaction():
        notifications.set_mail_preferences(current_user, set(request.form.getlist("mailed")))
    flash(_("Your mail preferences are saved."), "success")
    return redirect(url_for("auth.account"))
