"""Periodic load balancing."""
from __future__ import annotations

from ..clock import utcnow
from ..database import write_transaction
from ..services import balancing
from .context import job_context


def rebalance_loads() -> int:
    with job_context() as app:
        with write_transaction():
            result = balancing.rebalance(utcnow(), app.config["BALANCE_THRESHOLD"], app.config["BALANCE_COOLDOWN_SECONDS"])
        return len(result.moves)
