from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length

LANGUAGE_CHOICES = [SelectChoice("fr", "Français"), SelectChoice("en", "English"), SelectChoice("es", "Español"),
                    SelectChoice("de", "Deutsch")]


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class SignupForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=80)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=200)])
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    # Filled by static/js/time-zone.js from the browser; checked by the service (unknown: UTC).
    time_zone = HiddenField(validators=[Length(max=64)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])


class NewPasswordForm(FlaskForm):
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("New password, again"),
                            validators=[DataRequired(), EqualTo("new_password", _l("The two passwords differ."))])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("New password, again"),
                            validators=[DataRequired(), EqualTo("new_password", _l("The two passwords differ."))])


class AccountSettingsForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=80)])
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    time_zone = SelectField(_l("Time zone"), validate_choice=False)  # choices set by the view; the service checks


class MailPreferencesForm(FlaskForm):
    """Only its CSRF token: the kinds checked are read from the request (one checkbox per kind)."""
