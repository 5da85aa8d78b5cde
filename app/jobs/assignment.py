"""Periodic sweep: waiting conversations nobody holds go to online moderators."""
from __future__ import annotations

from ..database import write_transaction
from ..clock import utcnow
from ..services import assignment
from .context import job_context


def assign_orphan_conversations() -> int:
    with job_context():
        with write_transaction():
            assigned = assignment.assign_orphans(utcnow())
        return len(assigned)
