"""Database backups: made, listed, kept by count, restored.

PostgreSQL is backed up with ``pg_dump -Fc`` and restored with ``pg_restore``; SQLite with its
online backup API, which copies a consistent state while the app goes on writing (WAL).

The invariants, and what holds each:

* A file named like a backup is a whole one: it is written under a temporary name in the
  backup folder and renamed (an atomic replace) only once the tool finished.
* A restore touches the database only once the file was read whole and found to be a backup
  of this application for this kind of database (PostgreSQL: pg_restore reads the whole
  archive; SQLite: ``PRAGMA integrity_check`` and the ``alembic_version`` table). A refused
  file changes nothing.
* A restore that fails half-way leaves the database as it was: pg_restore runs in one
  transaction; SQLite's backup API copies every page in one step, one write transaction.
* A password never reaches a command line: pg_dump and pg_restore get it through PGPASSWORD.
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping

from sqlalchemy.engine import URL, make_url

from .errors import ServiceError

STAMP = "%Y%m%dT%H%M%SZ"
SUFFIXES = {"postgresql": ".dump", "sqlite": ".sqlite3"}
BACKUP_NAME = re.compile(r"^switchboard-(\d{8}T\d{6}Z)\.(dump|sqlite3)$")
MAGIC = {"postgresql": b"PGDMP", "sqlite": b"SQLite format 3\x00"}
KIND_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}


class BackupError(ServiceError):
    """A backup or a restore that could not be done (a tool missing or failing, no database file)."""
    status_code = 500


class BackupRefused(BackupError):
    """A file that is not a whole backup of this application's database: nothing was restored."""
    status_code = 422


@dataclass(frozen=True)
class PgTools:
    """Where pg_dump and pg_restore are (empty: the PATH), and how long either may run."""
    bin_dir: str = ""
    timeout_seconds: float | None = None


@dataclass(frozen=True)
class Settings:
    """``BACKUP_DIR``, ``BACKUP_KEEP``, ``BACKUP_FRESH_SECONDS``, ``PG_BIN_DIR``, ``BACKUP_TOOL_TIMEOUT_SECONDS``."""
    folder: Path
    keep: int
    fresh_seconds: int
    tools: PgTools = field(default_factory=PgTools)

    @classmethod
    def from_config(cls, config: Mapping) -> "Settings":
        return cls(Path(config["BACKUP_DIR"]), int(config["BACKUP_KEEP"]), int(config["BACKUP_FRESH_SECONDS"]),
                   PgTools(config["PG_BIN_DIR"], float(config["BACKUP_TOOL_TIMEOUT_SECONDS"])))


@dataclass(frozen=True)
class Backup:
    name: str
    path: Path
    size: int
    taken_at: datetime  # naive UTC, read from the name


@dataclass(frozen=True)
class BackupRun:
    written: Backup
    removed: list[Backup]


@dataclass(frozen=True)
class PgTarget:
    """A database as pg_dump and pg_restore take it: a libpq URI without the password, and the password."""
    conninfo: str
    password: str | None


def run(database_url: str, folder: Path, keep: int, now: datetime, tools: PgTools = PgTools()) -> BackupRun:
    """Write a backup of the database named ``now``, then keep the ``keep`` newest backups of the folder."""
    if keep < 1:
        raise BackupError(f"Backups to keep must be at least 1 (got {keep}).")
    kind = database_kind(database_url)
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    final = folder / f"switchboard-{_stamp(now)}{SUFFIXES[kind]}"
    partial = folder / f".{final.name}.{uuid.uuid4().hex[:8]}.partial"
    try:
        if kind == "postgresql":
            _dump_postgresql(database_url, partial, tools)
        else:
            _copy_sqlite(sqlite_file(database_url), partial)
        partial.chmod(0o600)
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    return BackupRun(_described(final), remove_old_backups(folder, keep))


def list_backups(folder: Path) -> list[Backup]:
    """The backups in ``folder``, newest first (other files, unfinished ones included, are ignored)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [backup for backup in map(_described, folder.iterdir()) if backup is not None]
    return sorted(found, key=lambda b: (b.taken_at, b.name), reverse=True)


def remove_old_backups(folder: Path, keep: int) -> list[Backup]:
    """Delete all but the ``keep`` newest backups; the ones deleted."""
    old = list_backups(folder)[keep:]
    for backup in old:
        backup.path.unlink(missing_ok=True)
    return old


def due(folder: Path, now: datetime, fresh_seconds: int) -> bool:
    """Whether a periodic backup should be made: none is younger than ``fresh_seconds``."""
    newest = list_backups(folder)[:1]
    return not newest or _naive_utc(now) - newest[0].taken_at >= timedelta(seconds=fresh_seconds)


def restore(path: Path, database_url: str, tools: PgTools = PgTools()) -> str:
    """Replace the database's contents with the backup's, once the file was checked whole; returns
    the backup's schema revision (Alembic). Raises BackupRefused, the database untouched, for a
    file that is not a whole backup of this application for this kind of database."""
    path = Path(path)
    revision = check_backup(path, database_url, tools)
    if database_kind(database_url) == "postgresql":
        _restore_postgresql(path, database_url, tools)
    else:
        _restore_sqlite(path, sqlite_file(database_url))
    return revision


def forget_what_was_derived(r) -> int:
    """After a restore into the running deployment: what Redis holds that was derived from the old
    rows goes (notification counts), and every process reloads the content filters' rules. Returns
    the users whose cached count went."""
    from .filters import matcher
    from .notifications import forget_every_count

    matcher.bump_version()
    return forget_every_count(r)


def check_backup(path: Path, database_url: str, tools: PgTools = PgTools()) -> str:
    """The backup's schema revision, once the file was read whole and found to be one of ours for
    this kind of database; BackupRefused otherwise."""
    kind, path = database_kind(database_url), Path(path)
    _check_header(path, kind)
    if kind == "postgresql":
        return _check_postgresql_archive(path, tools)
    return _check_sqlite_file(path)


def database_kind(database_url: str) -> str:
    """"postgresql" or "sqlite"; BackupError for any other database."""
    kind = make_url(database_url).get_backend_name()
    if kind not in SUFFIXES:
        raise BackupError(f"Backups cover PostgreSQL and SQLite databases, not {kind}.")
    return kind


def sqlite_file(database_url: str) -> Path:
    """The file of an SQLite database URL (an in-memory database has none to back up)."""
    name = make_url(database_url).database
    if name in (None, "", ":memory:"):
        raise BackupError("An in-memory SQLite database has no file to back up or restore.")
    return Path(name)


def pg_target(database_url: str) -> PgTarget:
    """The libpq form of a SQLAlchemy URL (``postgresql+psycopg://`` loses its driver) and its password apart."""
    url = make_url(database_url)
    plain = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database,
                       query=url.query)
    return PgTarget(plain.render_as_string(hide_password=False), url.password)


def _stamp(now: datetime) -> str:
    return _naive_utc(now).strftime(STAMP)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _described(path: Path) -> Backup | None:
    match = BACKUP_NAME.match(path.name)
    if match is None:
        return None
    try:
        size = path.stat().st_size
    except FileNotFoundError:  # removed meanwhile (retention in another process)
        return None
    return Backup(path.name, path, size, datetime.strptime(match.group(1), STAMP))


def _check_header(path: Path, kind: str) -> None:
    if not path.is_file():
        raise BackupRefused(f"{path}: no such file.")
    with path.open("rb") as f:
        head = f.read(16)
    if head.startswith(MAGIC[kind]):
        return
    if not head:
        raise BackupRefused(f"{path} is empty: not a backup.")
    for other, magic in MAGIC.items():
        if other != kind and head.startswith(magic):
            raise BackupRefused(f"{path} is a backup of a {KIND_NAMES[other]} database; "
                                f"this database is {KIND_NAMES[kind]}.")
    raise BackupRefused(f"{path} is not a backup of a {KIND_NAMES[kind]} database.")


# PostgreSQL: pg_dump and pg_restore.

def _dump_postgresql(database_url: str, dest: Path, tools: PgTools) -> None:
    target = pg_target(database_url)
    _run_tool("pg_dump", ["-Fc", f"--file={dest}", f"--dbname={target.conninfo}"], tools, target.password)


def _check_postgresql_archive(path: Path, tools: PgTools) -> str:
    listing = _run_tool("pg_restore", ["--list", str(path)], tools, refuse=f"{path} is damaged or incomplete")
    if not re.search(r"^\d+; \d+ \d+ TABLE \S+ alembic_version ", listing, re.MULTILINE):
        raise BackupRefused(f"{path} is not a backup of Switchboard's database (no alembic_version table).")
    _run_tool("pg_restore", [f"--file={os.devnull}", str(path)], tools, refuse=f"{path} is damaged or incomplete")
    script = _run_tool("pg_restore", ["--data-only", "--table=alembic_version", "--file=-", str(path)], tools,
                       refuse=f"{path} could not be read")
    revision = _copied_value(script)
    if revision is None:
        raise BackupRefused(f"{path} has no schema revision in its alembic_version table.")
    return revision


def _copied_value(script: str) -> str | None:
    """The first row of the one COPY block of a pg_restore script (one column), None without one."""
    lines = script.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("COPY ") and line.endswith(" FROM stdin;")]
    if not starts or starts[0] + 1 >= len(lines) or lines[starts[0] + 1] == "\\.":
        return None
    return lines[starts[0] + 1]


def _restore_postgresql(path: Path, database_url: str, tools: PgTools) -> None:
    target = pg_target(database_url)
    _run_tool("pg_restore", ["--clean", "--if-exists", "--no-owner", "--single-transaction",
                             f"--dbname={target.conninfo}", str(path)], tools, target.password,
              failed="pg_restore failed; it ran in one transaction, the database is as it was")


def _run_tool(name: str, args: list[str], tools: PgTools, password: str | None = None, *,
              refuse: str | None = None, failed: str | None = None) -> str:
    """Run pg_dump or pg_restore; its standard output. A failure raises BackupRefused with
    ``refuse`` when given (the file is at fault), BackupError otherwise."""
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    try:
        done = subprocess.run([_tool_path(name, tools), *args], env=env, capture_output=True, text=True,
                              errors="replace", timeout=tools.timeout_seconds)
    except subprocess.TimeoutExpired:
        raise BackupError(f"{name} did not finish within {tools.timeout_seconds:g} s.") from None
    if done.returncode != 0:
        reason = _last_lines(done.stderr) or f"exit status {done.returncode}"
        raise (BackupRefused if refuse else BackupError)(f"{refuse or failed or name + ' failed'}: {reason}")
    return done.stdout


def _tool_path(name: str, tools: PgTools) -> str:
    found = shutil.which(name, path=tools.bin_dir or None)
    if found is None:
        where = f"in {tools.bin_dir}" if tools.bin_dir else "on the PATH"
        raise BackupError(f"{name} not found {where} (PG_BIN_DIR names the folder of PostgreSQL's client programs).")
    return found


def _last_lines(stderr: str, count: int = 3) -> str:
    return " | ".join(line.strip() for line in stderr.strip().splitlines()[-count:])


# SQLite: the online backup API.

def _copy_sqlite(source: Path, dest: Path) -> None:
    if not source.is_file():
        raise BackupError(f"No database file at {source}.")
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(dest)) as copy:
        src.backup(copy)  # one step: one read transaction, a consistent state while others write
        copy.execute("PRAGMA journal_mode=DELETE")  # the copy is one file, without a write-ahead log


def _check_sqlite_file(path: Path) -> str:
    try:
        with closing(_read_only(path)) as backup:
            _check_sqlite_size(path, backup)
            _check_sqlite_integrity(path, backup)
            revision = _sqlite_revision(backup)
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(f"{path} is damaged: {exc}") from None
    if revision is None:
        raise BackupRefused(f"{path} is not a backup of Switchboard's database (no alembic_version table).")
    return revision


def _check_sqlite_size(path: Path, backup: sqlite3.Connection) -> None:
    """A file cut short is refused: SQLite would read its missing end as zeros, unnoticed."""
    pages, page_size = (backup.execute(f"PRAGMA {name}").fetchone()[0] for name in ("page_count", "page_size"))
    size = path.stat().st_size
    if size != pages * page_size:
        raise BackupRefused(f"{path} is damaged: {size} bytes where its header says {pages * page_size}.")


def _check_sqlite_integrity(path: Path, backup: sqlite3.Connection) -> None:
    problems = [row[0] for row in backup.execute("PRAGMA integrity_check(3)")]
    if problems != ["ok"]:
        lines = [line for line in "\n".join(problems).splitlines() if not line.startswith("***")]
        raise BackupRefused(f"{path} is damaged: {'; '.join(lines[:3])}")


def _sqlite_revision(backup: sqlite3.Connection) -> str | None:
    if backup.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone() is None:
        return None
    row = backup.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def _restore_sqlite(path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with closing(_read_only(path)) as backup, closing(sqlite3.connect(target)) as database:
            backup.backup(database)
    except sqlite3.Error as exc:
        raise BackupError(f"The restore into {target} failed, the database is as it was: {exc}") from None


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
