from flask import Blueprint

bp = Blueprint("chat", __name__)

from . import reports, routes, support  # noqa: E402,F401
