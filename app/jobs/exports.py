"""Conversation exports: the file made out of the web process, and expired files removed."""
from __future__ import annotations

from rq import Retry

from ..clock import utcnow
from ..services.exports import building, cleanup
from ..services.exports.files import storage_from
from .context import job_context


def enqueue_export(export_id: str):
    """After the commit that stored the export's request."""
    from flask import current_app

    from . import get_queue

    return get_queue("low").enqueue(
        build_export, export_id, job_timeout=current_app.config["EXPORT_JOB_TIMEOUT_SECONDS"], result_ttl=600,
        failure_ttl=7 * 24 * 3600, retry=Retry(max=1, interval=[30]), description=f"export {export_id}")


def build_export(export_id: str) -> str:
    """Write the export's file; its owner's pages follow its progress (pushed after each commit)."""
    with job_context() as app:
        outcome = building.build(export_id, storage_from(app.config), building.Settings.from_config(app.config), utcnow)
        return f"export {export_id}: {outcome}"


def remove_expired_exports() -> int:
    """Periodic: expired exports lose their file (idempotent)."""
    with job_context() as app:
        return cleanup.remove_expired(storage_from(app.config), utcnow())
