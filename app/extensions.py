"""Extensions, created unbound and bound in create_app() (Flask-Migrate there too, outside web workers)."""
from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import MetaData

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
login = LoginManager()
csrf = CSRFProtect()
babel = Babel()
mail = Mail()
sock = Sock()
htmx = Htmx()
limiter = Limiter(key_func=get_remote_address)

# The views with Flask-Limiter limits (``@limiter.limit``): every other request skips its checks,
# which cost the busiest requests more than anything they could find (the send view counts
# itself: ``web.send_limit``). tests/test_rate_limited_views.py keeps this list true.
RATE_LIMITED_VIEWS = frozenset({"auth.login", "auth.signup", "auth.activation_resend", "auth.password_forgot",
                                "auth.password_reset", "auth.account_password"})


@limiter.request_filter
def _not_rate_limited() -> bool:
    return request.endpoint not in RATE_LIMITED_VIEWS
