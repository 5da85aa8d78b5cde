from flask import Blueprint

bp = Blueprint("moderator", __name__)

from . import canned, client_log, reports, routes, search  # noqa: E402,F401
