"""``/metrics`` for Prometheus: with ``METRICS_TOKEN`` set, only with ``Authorization: Bearer
<token>``; without one, only from the addresses in ``METRICS_ALLOW_FROM`` (this host by
default). Behind a proxy, the address is the proxy's: set a token."""
from __future__ import annotations

import hmac
import ipaddress

from flask import Response, abort, current_app, request

from ... import metrics as app_metrics
from . import bp


def _allowed() -> bool:
    token = current_app.config["METRICS_TOKEN"]
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False)
               for network in current_app.config["METRICS_ALLOW_FROM"])


@bp.route("/metrics")
def metrics():
    if not _allowed():
        abort(401 if current_app.config["METRICS_TOKEN"] else 403)
    return Response(app_metrics.exposition(), mimetype="text/plain; version=0.0.4; charset=utf-8",
                    headers={"Cache-Control": "no-store"})
