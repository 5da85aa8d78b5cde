"""Flask-Login wiring and role guards."""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_url
from htmx_flask import make_response as htmx_response

from sqlalchemy import bindparam, select

from ..extensions import db, login
from ..models import Role, User

# A disabled account is nobody: its open session is not loaded (Flask-Login would load it, then
# treat it as logged out).
_LOAD_USER = select(User).where(User.id == bindparam("user_id_"), User.active.is_(True))


def init_app(app) -> None:
    login.login_view = "auth.login"
    login.login_message = _l("Please log in to see this page.")
    login.login_message_category = "info"

    @login.unauthorized_handler
    def unauthorized():
        """Not logged in, or no longer (a disabled account, an expired session): to the login form,
        and back to the page afterwards. An htmx request would swap the login page into a fragment's
        place: it gets a 401 whose ``HX-Redirect`` takes the whole page there instead."""
        if not request.htmx:
            flash(str(login.login_message), login.login_message_category)
            return redirect(login_url(login.login_view, next_url=request.url))
        from .errors import error_response

        page = urlsplit(request.htmx.current_url or "")
        back = page.path + (f"?{page.query}" if page.query else "") if page.path else request.path
        return htmx_response(error_response(str(login.login_message), 401),
                             redirect=login_url(login.login_view, next_url=back))

    @login.user_loader
    def load_user(user_id: str) -> User | None:
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            return None
        # Every request starts here: a statement built once is cheaper than session.get's.
        return db.session.scalar(_LOAD_USER, {"user_id_": user_id})


def home_for(user) -> str:
    """Where a logged-in user lands: their role's home page."""
    if user.is_admin:
        return url_for("admin.overview")
    if user.is_moderator:
        return url_for("moderator.workspace")
    return url_for("chat.home")


def session_user_id() -> int | None:
    """Who the session says is logged in, not loaded nor checked: for the one hot path whose own
    statement checks the user (a client's message) and then hands them over with ``checked_user``.
    None without a user in the session, or when Flask-Login's session protection refuses it."""
    user_id = session.get("_user_id")
    if user_id is None or login._session_protection_failed():
        return None
    try:
        return int(user_id)
    except (TypeError, ValueError):
        return None


def checked_user(user: User) -> None:
    """The user a statement checked for ``session_user_id`` becomes the request's ``current_user``,
    as if Flask-Login had loaded them (what its loader does last)."""
    login._update_request_context_with_user(user)


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
