from flask import Blueprint

bp = Blueprint("moderator", __name__)

from . import desk, routes, search  # noqa: E402,F401
