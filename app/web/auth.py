"""Flask-Login wiring and role guards."""
from __future__ import annotations

import re
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import (
    current_user,
    login_required,
    login_url,
    user_loaded_from_cookie,
    user_logged_in,
    user_logged_out,
)
from htmx_flask import make_response as htmx_response
from sqlalchemy import bindparam, select

from ..extensions import db, login
from ..models import Role, User
from .i18n import SESSION_LOCALE_KEY

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

        back = safe_next(path_of(request.htmx.current_url)) or request.path
        return htmx_response(error_response(str(login.login_message), 401),
                             redirect=login_url(login.login_view, next_url=back))

    if login.session_protection == "strong":  # it would clear Flask-Login's keys, not ours
        raise RuntimeError("strong session protection is not supported: it would leave session_user_id set")
    user_logged_in.connect(_remember_in_session, app)
    user_loaded_from_cookie.connect(_remember_in_session, app)
    user_logged_out.connect(_forget_in_session, app)

    @login.user_loader
    def load_user(user_id: str) -> User | None:
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            return None
        if not 0 < user_id <= _MAX_USER_ID:  # no such row, and past what the database's integer holds
            return None
        # Every request starts here: a statement built once is cheaper than session.get's.
        user = db.session.scalar(_LOAD_USER, {"user_id_": user_id})
        if user is not None and session.get(SESSION_VERSION_KEY, 0) != user.session_version:
            return None  # a session ended since (log-out elsewhere, disabled, ended by an admin)
        return user


def path_of(url: str | None) -> str | None:
    """The path and query of a page's address (htmx's ``HX-Current-URL``), None when it is not one."""
    try:
        page = urlsplit(url or "")
    except ValueError:  # e.g. an unclosed IPv6 host, "http://[::1"
        return None
    return page.path + (f"?{page.query}" if page.query else "") if page.path else None


# Browsers drop tabs and line breaks anywhere in an address, and read a backslash as a slash.
_DROPPED_BY_BROWSERS = re.compile(r"[\t\r\n]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe_next(target) -> str | None:
    """Where to go back after logging in or switching language: a path on this site, read the way
    a browser reads it, or None (the caller's default page). Refused: anything with a scheme or a
    host once tabs and line breaks are dropped and backslashes read as slashes (``https://x``,
    ``//x``, a slash, a backslash and ``x``, a slash, a tab, a slash and ``x``), control characters,
    text not starting with a slash."""
    if not isinstance(target, str) or not target:
        return None
    path = _DROPPED_BY_BROWSERS.sub("", target).replace("\\", "/")
    if not path.startswith("/") or path.startswith("//") or _CONTROL.search(path):
        return None
    try:
        parts = urlsplit(path)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    return path


def home_for(user) -> str:
    """Where a logged-in user lands: their role's home page."""
    if user.is_admin:
        return url_for("admin.overview")
    if user.is_moderator:
        return url_for("moderator.workspace")
    return url_for("chat.home")


SESSION_USER_KEY = "sb_user"
_MAX_USER_ID = 2**31 - 1  # PostgreSQL's integer
SESSION_VERSION_KEY = "sb_sv"  # the account's session_version when this session logged in


def _remember_in_session(_app, user) -> None:
    session[SESSION_USER_KEY] = user.id
    session[SESSION_VERSION_KEY] = user.session_version
    session[SESSION_LOCALE_KEY] = user.locale  # errors shown without the database speak it (i18n)


def _forget_in_session(_app, user) -> None:
    session.pop(SESSION_USER_KEY, None)
    session.pop(SESSION_VERSION_KEY, None)
    session.pop(SESSION_LOCALE_KEY, None)


def session_user_id() -> int | None:
    """Who the session says is logged in, not loaded nor checked: for the send path, whose own
    statement checks the user. Kept beside Flask-Login's session through its public signals (log
    in, log out, a session restored from the remember cookie); None when the session names nobody."""
    user_id = session.get(SESSION_USER_KEY)
    if isinstance(user_id, int) and 0 < user_id <= _MAX_USER_ID:
        return user_id
    if current_user.is_authenticated:  # a session from before this key: loads the user once
        session[SESSION_USER_KEY] = current_user.id
        return current_user.id
    return None


def session_version() -> int:
    """The account's session version this session holds (see ``load_user``): -1, older than any,
    when it holds something else."""
    version = session.get(SESSION_VERSION_KEY, 0)
    return version if isinstance(version, int) and not isinstance(version, bool) else -1


def session_user_required(view):
    """The session names a user (else the usual log-in redirect), who is not loaded here: the
    service the view calls checks them."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if session_user_id() is None:
            return login.unauthorized()
        return view(*args, **kwargs)

    return wrapped


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
