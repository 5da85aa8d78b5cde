"""Conversation exports: the file made out of the web process, and expired files removed."""
from __future__ import annotations

from ..clock import utcnow
from ..services.exports import building, cleanup
from ..services.exports.files import storage_from
from .context import job_context
from .policy import JobKind


def enqueue_export(export_id: str):
    """After the commit that stored the export's request."""
    return BUILD_EXPORT.enqueue(export_id, description=f"export {export_id}")


def build_export(export_id: str) -> str:
    """Write the export's file; its owner's pages follow its progress (pushed after each commit)."""
    with job_context() as app:
        outcome = building.build(export_id, storage_from(app.config), building.Settings.from_config(app.config), utcnow)
        return f"export {export_id}: {outcome}"


BUILD_EXPORT = JobKind(build_export, queue="low", attempts=2, backoff=30, timeout="EXPORT_JOB_TIMEOUT_SECONDS")


def remove_expired_exports() -> int:
    """Periodic: expired exports lose their file (idempotent)."""
    with job_context() as app:
        return cleanup.remove_expired(storage_from(app.config), utcnow())
