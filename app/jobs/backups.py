"""Periodic database backup, the newest BACKUP_KEEP kept."""
from __future__ import annotations

from ..clock import utcnow
from ..services import backups
from .context import job_context


def back_up_database() -> str | None:
    """Periodic: a backup of the database, unless one younger than BACKUP_FRESH_SECONDS exists
    (each scheduler start runs the job: restarts do not each make one)."""
    with job_context() as app:
        settings = backups.Settings.from_config(app.config)
        now = utcnow()
        if not backups.due(settings.folder, now, settings.fresh_seconds):
            return None
        made = backups.run(app.config["SQLALCHEMY_DATABASE_URI"], settings.folder, settings.keep, now, settings.tools)
        return (f"backup {made.written.name} written ({made.written.size} bytes), "
                f"{len(made.removed)} older backup(s) removed")
