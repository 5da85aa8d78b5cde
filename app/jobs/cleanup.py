"""The daily removal of old rows (``services.cleanup``)."""
from __future__ import annotations

import logging

from ..clock import utcnow
from ..services import cleanup
from ..services.photos.storage import storage_from
from .context import job_context

log = logging.getLogger("switchboard.jobs")


def remove_old_rows() -> None:
    """Periodic: every kind of row past its retention removed, in short batches (idempotent). Its
    one log line, when it removed anything, says how many rows of each kind."""
    with job_context() as app:
        report = cleanup.run(utcnow(), cleanup.Settings.from_config(app.config), storage_from(app.config))
    if report.total:
        log.info("remove_old_rows: %s removed in %d batch(es), %.1f s", removed_per_kind(report), report.batches,
                 report.seconds)


def removed_per_kind(report: cleanup.CleanupReport) -> str:
    return ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in report.removed.items() if count)
