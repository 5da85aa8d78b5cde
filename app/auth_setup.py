"""Flask-Login wiring and role guards."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from sqlalchemy import bindparam, select

from .extensions import db, login
from .models import Role, User

_LOAD_USER = select(User).where(User.id == bindparam("user_id_"))


def init_app(app) -> None:
    login.login_view = "auth.login"
    login.login_message = _l("Please log in to see this page.")
    login.login_message_category = "info"

    @login.user_loader
    def load_user(user_id: str) -> User | None:
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            return None
        # Every request starts here: a statement built once is cheaper than session.get's.
        return db.session.scalar(_LOAD_USER, {"user_id_": user_id})


def role_required(*roles: Role):
    """Logged in (else redirect to login) and one of ``roles`` (else 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
