"""``flask cleanup``: old rows removed."""
from __future__ import annotations

import click
from flask import Flask

from ..clock import utcnow
from ..services import cleanup
from ..services.photos.storage import storage_from


def init_app(app: Flask) -> None:
    @app.cli.group("cleanup")
    def cleanup_group():
        """Old rows removed (the daily job does the same)."""

    @cleanup_group.command("run")
    @click.option("--dry-run", is_flag=True, help="Count the rows past their retention; remove nothing.")
    def cleanup_run(dry_run: bool):
        """Remove the rows past their retention (CLEANUP_*_DAYS), in batches of CLEANUP_BATCH_SIZE."""
        report = cleanup.run(utcnow(), cleanup.Settings.from_config(app.config), storage_from(app.config),
                             dry_run=dry_run)
        for kind, count in report.removed.items():
            click.echo(f"{kind.replace('_', ' ')}: {count}")
        if dry_run:
            click.echo(f"Dry run: {report.total} row(s) would be removed; nothing was.")
        else:
            click.echo(f"Removed {report.total} row(s) in {report.batches} batch(es), {report.seconds:.1f} s.")
