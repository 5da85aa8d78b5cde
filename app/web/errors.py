"""Every error becomes a clear page, or a fragment shown in the page's alert area for htmx."""
from __future__ import annotations

import logging

from flask import make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from htmx_flask import make_response as htmx_response
from werkzeug.exceptions import HTTPException

from ..extensions import db, login
from ..services.errors import NotLoggedIn, ServiceError

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

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        log.info("%s %s -> %s %s", request.method, request.path, exc.code, exc.description)
        message = _default_messages().get(exc.code) or exc.description
        response = error_response(message, exc.code)
        if exc.code == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return error_response(_default_messages()[500], 500)


def _target() -> str:
    return request.headers.get("X-Error-Target") or "#flash"
