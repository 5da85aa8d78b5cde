from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import canned, desk, filters, moderation_log, reports, routes, search  # noqa: E402,F401
