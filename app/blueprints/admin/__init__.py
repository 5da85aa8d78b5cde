from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import desk, routes, search  # noqa: E402,F401
