"""Database backups on the database the suite runs on (SQLite, or PostgreSQL with pg_dump and
pg_restore): a backup restored into an empty database holds the data, retention by count, and
files that are not whole backups of ours refused before the database is touched."""
from __future__ import annotations

import os
import random
import shutil
import sqlite3
import string
import subprocess
import sys
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.database import write_transaction
from app.extensions import db
from app.jobs.backups import back_up_database
from app.models import Message, Role, User
from app.models.chat import Sender
from app.services import backups, sending, users
from app.services.backups import BackupError, BackupRefused, PgTools
from tests.support.factories import PASSWORD, count, make_profile, make_user, token
from tests.support.processes import ROOT, child_env

NOW = datetime(2026, 12, 7, 3, 15)


def _url(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"]


def _on_postgresql(app) -> bool:
    return _url(app).startswith("postgresql")


def _rows(url: str, sql: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def _execute(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(sql))
    finally:
        engine.dispose()


@pytest.fixture
def empty_database(app, tmp_path):
    """The URL of an empty database of the suite's kind: a new SQLite file, or a PostgreSQL
    database created for the test and dropped after it."""
    url = make_url(_url(app))
    if not _on_postgresql(app):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"{url.database}_restore_{uuid.uuid4().hex[:8]}"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _some_data(app, more_messages: int = 0) -> tuple[str, str]:
    """A client, a profile and a message (and ``more_messages`` of random letters, which compress
    poorly); the client's e-mail and the first message's text."""
    client, profile = make_user(email="kept@example.test"), make_profile("Léa")
    body = "Bonjour Léa, été à Genève ? 😀"
    with app.app_context():
        with write_transaction():
            posted = sending.post_client_message(db.session.get(User, client.id), profile.id, body, token(), NOW)
            if more_messages:
                db.session.execute(Message.__table__.insert(), [
                    {"conversation_id": posted.message.conversation_id, "sender": Sender.CLIENT, "author_id": client.id,
                     "body": "".join(random.choices(string.ascii_letters, k=3000)), "client_token": token(),
                     "created_at": NOW} for _ in range(more_messages)])
    return client.email, body


def _revision(app) -> str:
    with app.app_context():
        return db.session.scalar(text("SELECT version_num FROM alembic_version"))


def test_a_backup_restored_into_an_empty_database_holds_the_data(app, tmp_path, empty_database):
    email, body = _some_data(app)
    made = backups.run(_url(app), tmp_path, 3, NOW)
    assert made.written.name == "switchboard-20261207T031500Z" + (".dump" if _on_postgresql(app) else ".sqlite3")
    assert made.written.size > 0 and made.removed == []

    assert backups.restore(made.written.path, empty_database) == _revision(app)

    assert _rows(empty_database, "SELECT email FROM users") == [(email,)]
    assert _rows(empty_database, "SELECT name FROM profiles") == [("Léa",)]
    assert _rows(empty_database, "SELECT body FROM messages") == [(body,)]
    assert _rows(empty_database, "SELECT version_num FROM alembic_version") == [(_revision(app),)]


@pytest.fixture
def owned_database(app):
    """On PostgreSQL: a database owned by a login role that is not a superuser (as a managed
    PostgreSQL gives an application), migrated by that role; its URL. Both dropped after the test."""
    if not _on_postgresql(app):
        pytest.skip("a PostgreSQL role")
    url = make_url(_url(app))
    suffix = uuid.uuid4().hex[:8]
    role, name = f"switchboard_owner_{suffix}", f"{url.database}_owned_{suffix}"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD 'owner-password' NOSUPERUSER NOCREATEDB NOCREATEROLE"))
        connection.execute(text(f'CREATE DATABASE "{name}" OWNER {role}'))
    owned = url.set(username=role, password="owner-password", database=name).render_as_string(hide_password=False)
    try:
        migrated = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                                  env=child_env(DATABASE_URL=owned), capture_output=True, text=True, timeout=120)
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        yield owned
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        server.dispose()


@pytest.mark.slow  # migrates the new database in a flask process
def test_a_database_owned_by_a_role_that_is_not_a_superuser_is_restored_over_itself(app, tmp_path, owned_database):
    """pg_dump and pg_restore run as the application's own role: the backup goes back over the
    database it came from (every table dropped and made again, in one transaction)."""
    _execute(owned_database, "INSERT INTO profiles (name, age, city, bio, active, created_at) VALUES ('Léa', 30, '', '', true, now())")
    made = backups.run(owned_database, tmp_path, 3, NOW)
    _execute(owned_database, "UPDATE profiles SET name = 'changed'")
    _execute(owned_database, "INSERT INTO profiles (name, age, city, bio, active, created_at) VALUES ('after', 30, '', '', true, now())")

    backups.restore(made.written.path, owned_database)

    assert _rows(owned_database, "SELECT name FROM profiles") == [("Léa",)]
    assert _rows(owned_database, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == [(False,)]


def test_a_backup_holds_what_was_committed_while_a_write_is_still_open(app, ctx, tmp_path, empty_database):
    """The app goes on writing during a backup: the copy holds every committed row (SQLite: those
    still in the write-ahead log too) and none of a transaction still open, and does not wait for it."""
    make_user(email="committed@example.test")
    with write_transaction():
        users.create_user(email="open@example.test", password=PASSWORD, role=Role.CLIENT, display_name="Open",
                          locale="en")
        db.session.flush()
        made = backups.run(_url(app), tmp_path, 3, NOW)
    backups.restore(made.written.path, empty_database)
    assert _rows(empty_database, "SELECT email FROM users") == [("committed@example.test",)]


def test_retention_keeps_the_newest_backups_and_leaves_other_files(app, tmp_path):
    (tmp_path / "notes.txt").write_text("not a backup")
    unfinished = tmp_path / ".switchboard-20261101T000000Z.sqlite3.0a1b2c3d.partial"
    unfinished.write_bytes(b"half")
    runs = [backups.run(_url(app), tmp_path, 3, NOW + timedelta(days=day)) for day in range(5)]

    assert [[old.name for old in run.removed] for run in runs] == [
        [], [], [], [runs[0].written.name], [runs[1].written.name]]
    listed = backups.list_backups(tmp_path)
    assert [b.name for b in listed] == [run.written.name for run in reversed(runs[2:])]
    assert [b.taken_at for b in listed] == [NOW + timedelta(days=day) for day in (4, 3, 2)]
    assert all(b.size == b.path.stat().st_size > 0 for b in listed)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([unfinished.name, "notes.txt"] + [b.name for b in listed])


def test_keeping_fewer_than_one_backup_is_refused_before_writing(app, tmp_path):
    with pytest.raises(BackupError, match="at least 1"):
        backups.run(_url(app), tmp_path / "backups", 0, NOW)
    assert not (tmp_path / "backups").exists()


def test_a_backup_is_due_once_the_newest_is_older_than_the_fresh_time(tmp_path):
    assert backups.due(tmp_path / "none yet", NOW, 3600)
    (tmp_path / "switchboard-20261207T031500Z.sqlite3").write_bytes(b"x")
    assert not backups.due(tmp_path, NOW + timedelta(seconds=3599), 3600)
    assert backups.due(tmp_path, NOW + timedelta(seconds=3600), 3600)


def test_the_periodic_job_skips_its_turn_while_a_fresh_backup_exists(app, ctx, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "BACKUP_DIR", str(tmp_path))
    monkeypatch.setitem(app.config, "BACKUP_FRESH_SECONDS", 3600)
    done = back_up_database()
    assert done.startswith("backup switchboard-") and done.endswith("0 older backup(s) removed")
    assert back_up_database() is None  # a scheduler restart: the backup just made is fresh
    assert len(backups.list_backups(tmp_path)) == 1
    monkeypatch.setitem(app.config, "BACKUP_FRESH_SECONDS", 0)
    assert back_up_database() is not None


def _good_backup(app, folder) -> backups.Backup:
    return backups.run(_url(app), folder, 3, NOW).written


def _cut(path, keep_bytes: int, dest) -> None:
    dest.write_bytes(path.read_bytes()[:keep_bytes])


def _corrupt_file(app, case: str, tmp_path):
    """A file that is not a whole backup of ours, and the start of the message refusing it."""
    dest = tmp_path / "suspect"
    if case == "random bytes":
        dest.write_bytes(os.urandom(64 * 1024))
        return dest, "is not a backup"
    if case == "text":
        dest.write_text("id,email\n1,someone@example.test\n" * 200)
        return dest, "is not a backup"
    if case == "empty":
        dest.write_bytes(b"")
        return dest, "is empty"
    good = _good_backup(app, tmp_path / "good")
    if case == "bytes overwritten":  # inside the messages' data, which fills the end of either kind of file
        if good.path.suffix == ".sqlite3":  # the suite's database file keeps the pages earlier tests freed:
            with sqlite3.connect(good.path) as packed:  # packed, its end is the messages' pages
                packed.execute("VACUUM")
            packed.close()
        data = bytearray(good.path.read_bytes())
        at = (len(data) - 100_000) // 4096 * 4096
        data[at:at + 4096] = os.urandom(4096)
        dest.write_bytes(data)
        return dest, "is damaged"
    if case == "cut in half":
        _cut(good.path, good.size // 2, dest)
        return dest, "is damaged"
    if case == "end missing":  # a PostgreSQL archive's table of contents reads fine: its data does not
        _cut(good.path, good.size - 200, dest)
        return dest, "is damaged"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["random bytes", "text", "empty", "bytes overwritten", "cut in half", "end missing"])
def test_a_file_that_is_not_a_whole_backup_is_refused_and_the_database_keeps_its_data(app, tmp_path, case):
    email, _ = _some_data(app, more_messages=100)
    suspect, reason = _corrupt_file(app, case, tmp_path)
    with pytest.raises(BackupRefused, match=reason) as refused:
        backups.restore(suspect, _url(app))
    assert str(suspect) in refused.value.message
    assert count(User, email=email) == 1


def test_a_backup_of_another_database_than_ours_is_refused(app, tmp_path, empty_database):
    email, _ = _some_data(app)
    engine = create_engine(empty_database)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body TEXT)"))
        connection.execute(text("INSERT INTO notes (body) VALUES ('someone else''s')"))
    engine.dispose()
    foreign = backups.run(empty_database, tmp_path, 3, NOW).written
    with pytest.raises(BackupRefused, match="not a backup of Switchboard's database"):
        backups.restore(foreign.path, _url(app))
    assert count(User, email=email) == 1


def test_a_backup_of_the_other_kind_of_database_is_refused(app, tmp_path):
    email, _ = _some_data(app)
    other = tmp_path / "other"
    if _on_postgresql(app):
        with sqlite3.connect(other) as connection:
            connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
        connection.close()
        expected = "is a backup of a SQLite database; this database is PostgreSQL"
    else:
        other.write_bytes(b"PGDMP" + os.urandom(1024))
        expected = "is a backup of a PostgreSQL database; this database is SQLite"
    with pytest.raises(BackupRefused, match=expected):
        backups.restore(other, _url(app))
    assert count(User, email=email) == 1


def test_a_missing_file_is_refused(app, tmp_path):
    with pytest.raises(BackupRefused, match="no such file"):
        backups.restore(tmp_path / "switchboard-20261207T031500Z.dump", _url(app))


def test_a_missing_sqlite_database_is_an_error_and_is_not_created(tmp_path):
    missing = tmp_path / "nothing.db"
    with pytest.raises(BackupError, match="No database file"):
        backups.run(f"sqlite:///{missing}", tmp_path / "backups", 3, NOW)
    assert not missing.exists() and list((tmp_path / "backups").iterdir()) == []


def test_pg_dump_not_found_is_a_clear_error(tmp_path):
    (tmp_path / "bin").mkdir()
    with pytest.raises(BackupError, match=f"pg_dump not found in {tmp_path / 'bin'}"):
        backups.run("postgresql+psycopg://nobody@127.0.0.1:1/nothing", tmp_path / "backups", 3, NOW,
                    PgTools(bin_dir=str(tmp_path / "bin")))
    assert list((tmp_path / "backups").iterdir()) == []


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_a_failed_pg_dump_leaves_no_file(tmp_path):
    with pytest.raises(BackupError, match="pg_dump failed: .*127.0.0.1"):
        backups.run("postgresql+psycopg://nobody@127.0.0.1:1/nothing", tmp_path, 3, NOW, PgTools(timeout_seconds=30))
    assert list(tmp_path.iterdir()) == []


def test_the_password_reaches_pg_dump_apart_from_its_command_line():
    target = backups.pg_target("postgresql+psycopg://sb:p%40ss:w0rd@db.example:5433/switchboard?sslmode=require")
    assert target.conninfo == "postgresql://sb@db.example:5433/switchboard?sslmode=require"
    assert target.password == "p@ss:w0rd"
    assert backups.pg_target("postgresql+psycopg://postgres@127.0.0.1/sb").password is None
