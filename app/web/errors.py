"""Every error becomes a clear page, or a fragment shown in the page's alert area for htmx."""
from __future__ import annotations

import logging

from flask import current_app, g, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from htmx_flask import make_response as htmx_response
from werkzeug.exceptions import HTTPException

from .. import database
from ..extensions import db, login
from ..services.errors import NotLoggedIn, ServiceError
from .i18n import in_language, locale_without_database
from .send_limit import SendingTooFast

log = logging.getLogger(__name__)


def _default_messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Please log in."),
        403: _("You are not allowed to do this."),
        404: _("This page does not exist."),
        405: _("This action is not allowed here."),
        413: _("The upload is too large."),
        422: _("Some information is not valid."),
        429: _("Too many attempts. Wait a minute and try again."),
        500: _("Something went wrong on our side. Nothing you sent was lost; please try again."),
    }


def error_response(message: str, status: int, target: str = "#flash"):
    """A 4xx/5xx answer: an alert fragment (htmx) or a full page."""
    if request.htmx:
        return htmx_response(render_template("partials/_alert.html", message=message, level="error"), status,
                             retarget=target, reswap="innerHTML")
    return make_response(render_template("errors/error.html", status=status, message=message), status)


def init_app(app) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        if isinstance(exc, NotLoggedIn):
            return login.unauthorized()
        db.session.rollback()
        return error_response(str(exc.message), exc.status_code, _target())

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(_("Your session expired or the form is stale. Reload the page and try again."), 400)

    @app.errorhandler(SendingTooFast)
    def sending_too_fast(exc: SendingTooFast):
        response = error_response(exc.description, exc.code, _target())  # in the composer
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        log.info("%s %s -> %s %s", request.method, request.path, exc.code, exc.description)
        message = _default_messages().get(exc.code) or exc.description
        # An upload too large for any request answers where the form shows its errors.
        response = error_response(message, exc.code, _target() if exc.code == 413 else "#flash")
        if exc.code == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        reason = database.unavailable(exc)
        if reason is not None:
            return database_unavailable(reason, exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return error_response(_default_messages()[500], 500)


def database_unavailable(reason: str, exc: Exception):
    """A 503 with Retry-After when no database connection could be had (the pool stayed full for
    its whole timeout, or PostgreSQL is restarting). Rendered without the database: the language
    comes from the request and session, the page does not extend the layout (it reads the
    logged-in user). One log line, no traceback: it is a state, not a bug."""
    log.warning("%s %s -> 503, database %s: %s", request.method, request.path, reason,
                str(exc).splitlines()[0][:200])
    db.session.close()  # drop the loaded rows without a round trip (a rollback would reload them)
    locale = locale_without_database()
    if g.get("_login_user") is None:  # Flask-Login's template context would load the user
        g._login_user = login.anonymous_user()
    with in_language(locale):
        if reason == "busy":
            message = _("Switchboard is very busy right now. Please try again in a few seconds.")
        else:
            message = _("Switchboard cannot reach its database right now. Please try again in a few seconds.")
        if request.htmx:
            response = error_response(message, 503, _target())
        else:
            response = make_response(render_template("errors/unavailable.html", message=message), 503)
    response.headers["Retry-After"] = str(current_app.config["DB_RETRY_AFTER_SECONDS"])
    return response


def _target() -> str:
    return request.headers.get("X-Error-Target") or "#flash"
