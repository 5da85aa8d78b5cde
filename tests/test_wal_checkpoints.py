"""SQLite checkpoints in the web process run on a native thread, never inside a commit."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from app.wal_checkpoints import BackgroundCheckpoints, database_file
from tests.support.processes import ROOT
from tests.support.waiting import wait_until

pytestmark = pytest.mark.database_independent


def _rows_in_database_file(path) -> int:
    """Rows the main database file holds, ignoring the write-ahead log (``immutable``)."""
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as reader:
        return reader.execute("SELECT count(*) FROM notes").fetchone()[0]


def _wal_database(path) -> sqlite3.Connection:
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # as the web process's connections
    writer.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the empty table is in the file
    return writer


def test_database_file_of_each_uri(tmp_path):
    assert database_file(f"sqlite:///{tmp_path}/switchboard.db") == f"{tmp_path}/switchboard.db"
    assert database_file("sqlite://") is None
    assert database_file("sqlite:///:memory:") is None
    assert database_file("postgresql://postgres@127.0.0.1:5432/test") is None


def test_committed_rows_reach_the_database_file_without_a_checkpointing_commit(tmp_path):
    path = tmp_path / "wal.db"
    writer = _wal_database(path)
    for n in range(50):
        writer.execute("INSERT INTO notes (body) VALUES (?)", (f"note {n}",))
    assert _rows_in_database_file(path) == 0  # committed, but only in the log

    checkpoints = BackgroundCheckpoints(str(path), interval=0.05).start()
    try:
        wait_until(lambda: _rows_in_database_file(path) == 50, timeout=5)
        writer.execute("INSERT INTO notes (body) VALUES ('later')")
        wait_until(lambda: _rows_in_database_file(path) == 51, timeout=5)
        # A pass is counted once it has returned, which may be just after its rows show up.
        wait_until(lambda: checkpoints.runs >= 2, timeout=5)
    finally:
        checkpoints.stop()
        writer.close()
    assert checkpoints.failures == 0


def test_a_held_read_does_not_stop_the_checkpoints_or_the_writer(tmp_path):
    """PASSIVE: a reader on an old snapshot blocks nothing; what it holds is copied on a later pass."""
    path = tmp_path / "wal.db"
    writer = _wal_database(path)
    writer.execute("INSERT INTO notes (body) VALUES ('first')")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM notes").fetchone()[0] == 1  # holds this snapshot
    checkpoints = BackgroundCheckpoints(str(path), interval=0.05).start()
    try:
        wait_until(lambda: checkpoints.runs >= 3, timeout=5)  # passes go on beside the reader
        writer.execute("INSERT INTO notes (body) VALUES ('second')")  # not blocked by reader or checkpoints
        assert reader.execute("SELECT count(*) FROM notes").fetchone()[0] == 1  # its snapshot is intact
        reader.execute("COMMIT")
        wait_until(lambda: _rows_in_database_file(path) == 2, timeout=5)
    finally:
        checkpoints.stop()
        reader.close()
        writer.close()
    assert checkpoints.failures == 0


_GEVENT_APP = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import json, sys
    from sqlalchemy import text
    from app import create_app
    from app.extensions import db
    app = create_app()
    with app.app_context():
        autocheckpoint = db.session.execute(text("PRAGMA wal_autocheckpoint")).scalar()
    checkpoints = app.extensions.get("wal_checkpoints")
    print(json.dumps({"autocheckpoint": autocheckpoint, "thread": checkpoints is not None,
                      "path": checkpoints.path if checkpoints else None}))
""")


def _app_process(tmp_path, code: str, **env) -> dict:
    environment = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path}/web.db", **env)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_gevent_web_process_leaves_checkpoints_to_its_thread(tmp_path):
    seen = _app_process(tmp_path, _GEVENT_APP)
    assert seen == {"autocheckpoint": 0, "thread": True, "path": f"{tmp_path}/web.db"}


@pytest.mark.slow
def test_other_processes_keep_sqlites_checkpoints(tmp_path):
    plain = _GEVENT_APP.replace("from gevent import monkey\nmonkey.patch_all()\n", "")
    assert "monkey" not in plain
    assert _app_process(tmp_path, plain) == {"autocheckpoint": 1000, "thread": False, "path": None}
    turned_off = _app_process(tmp_path, _GEVENT_APP, SQLITE_CHECKPOINT_SECONDS="0")
    assert turned_off == {"autocheckpoint": 1000, "thread": False, "path": None}
