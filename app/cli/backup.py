"""``flask backup``: database backups."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from sqlalchemy.engine import make_url

from ..clock import utcnow
from ..redis_client import get_redis
from ..services import backups
from ..services.errors import ServiceError


def init_app(app: Flask) -> None:
    @app.cli.group("backup")
    def backup_group():
        """Database backups: make one, list them, restore one."""

    def _settings() -> backups.Settings:
        return backups.Settings.from_config(app.config)

    @backup_group.command("run")
    def backup_run():
        """Back up the database now into BACKUP_DIR; backups beyond the newest BACKUP_KEEP are removed."""
        settings = _settings()
        try:
            made = backups.run(app.config["SQLALCHEMY_DATABASE_URI"], settings.folder, settings.keep, utcnow(),
                               settings.tools)
        except ServiceError as exc:
            raise click.ClickException(str(exc.message))
        click.echo(f"Wrote {made.written.path} ({_size(made.written.size)}).")
        for old in made.removed:
            click.echo(f"Removed {old.name} (more than {settings.keep} backups).")

    @backup_group.command("list")
    def backup_list():
        """The backups in BACKUP_DIR, newest first."""
        folder = _settings().folder
        found = backups.list_backups(folder)
        for backup in found:
            click.echo(f"{backup.name}  {backup.taken_at:%Y-%m-%d %H:%M:%S} UTC  {_size(backup.size):>10}")
        click.echo(f"{len(found)} backup(s) in {folder}")

    @backup_group.command("restore")
    @click.argument("file")
    @click.option("--yes", is_flag=True, help="Restore without asking first.")
    def backup_restore(file, yes):
        """Replace everything in the database with a backup (FILE: a path, or a name `flask backup
        list` shows). The file is read whole and checked first: a damaged or foreign file is
        refused and the database left as it was."""
        settings = _settings()
        path = _backup_file(file, settings.folder)
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        if not yes:
            click.confirm(f"Replace everything in {make_url(url).render_as_string(hide_password=True)} "
                          f"with {path}?", abort=True)
        try:
            revision = backups.restore(path, url, settings.tools)
        except ServiceError as exc:
            raise click.ClickException(str(exc.message))
        forgotten = backups.forget_what_was_derived(get_redis())
        click.echo(f"Restored {path} (schema revision {revision}); cached notification counts of {forgotten} "
                   f"user(s) dropped. Run `flask db upgrade` if this code is newer, and restart the web server "
                   f"and the worker.")


def _backup_file(file: str, folder: Path) -> Path:
    """FILE as given, or the backup of that name in the backup folder."""
    for candidate in (Path(file), folder / file):
        if candidate.is_file():
            return candidate
    raise click.ClickException(f"No backup file {file} (nor in {folder}).")


def _size(size: int) -> str:
    value, unit = float(size), "bytes"
    for larger in ("KiB", "MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
