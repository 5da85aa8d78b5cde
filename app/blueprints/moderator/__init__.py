from flask import Blueprint

bp = Blueprint("moderator", __name__)

from . import client_log, routes, search  # noqa: E402,F401
