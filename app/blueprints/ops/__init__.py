"""For machines, not people: health for a load balancer, metrics for Prometheus."""
from flask import Blueprint

bp = Blueprint("ops", __name__)

from . import health, metrics  # noqa: E402,F401
