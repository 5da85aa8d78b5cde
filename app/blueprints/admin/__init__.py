from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import filters, moderation_log, routes, search  # noqa: E402,F401
