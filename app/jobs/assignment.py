"""Periodic sweep: waiting conversations nobody holds go to online moderators."""
from __future__ import annotations

from ..clock import utcnow
from ..database import write_transaction
from ..services import assignment
from .context import job_context


def assign_orphan_conversations() -> int:
    with job_context():
        with write_transaction():
            assigned = assignment.assign_orphans(utcnow())
        return len(assigned)
