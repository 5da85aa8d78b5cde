from flask import Blueprint

bp = Blueprint("moderator", __name__)

from . import canned, client_log, desk, reports, routes, search  # noqa: E402,F401
