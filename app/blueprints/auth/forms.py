from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class SignupForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=80)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=200)])
    locale = SelectField(_l("Language"), choices=[SelectChoice("fr", "Français"), SelectChoice("en", "English"),
                                                  SelectChoice("es", "Español"), SelectChoice("de", "Deutsch")])
