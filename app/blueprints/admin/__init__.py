from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import canned, desk, filters, moderation_log, operations, reports, routes, search, statistics, tickets  # noqa: E402,F401
