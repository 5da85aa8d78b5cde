from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import filters, routes, search  # noqa: E402,F401
