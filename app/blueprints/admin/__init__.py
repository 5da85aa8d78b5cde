from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import moderation_log, routes, search  # noqa: E402,F401
