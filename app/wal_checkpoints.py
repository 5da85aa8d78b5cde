"""SQLite WAL checkpoints off the web process's event loop.

By default SQLite checkpoints inside the commit that takes the write-ahead log past 1,000
pages: that commit copies the pages into the database file and syncs it to disk. sqlite3 is C
code, so under the gevent worker every socket and request of the process waits meanwhile. A
client message writes about ten pages (message, pending row, conversation, their indexes), so
at 50 messages a second one commit in a hundred paid for it, and push p99 showed it
(``bench/push_latency.py``, embedded, run alternately with and without).

The web process therefore turns automatic checkpoints off on its connections and runs a
``PASSIVE`` checkpoint every ``SQLITE_CHECKPOINT_SECONDS`` on a native thread with its own
connection: sqlite3 releases the GIL, so the event loop goes on. ``PASSIVE`` never waits for a
lock: readers and writers are never held up, and frames still in use are copied next time.
Other processes (worker, scheduler, CLI) keep SQLite's automatic checkpoints.
"""
from __future__ import annotations

import sqlite3
import sys

from sqlalchemy.engine import make_url

from .runtime import under_gevent


def database_file(uri: str) -> str | None:
    """The file behind an SQLite URI; None for an in-memory database or another dialect."""
    url = make_url(uri)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return url.database


class BackgroundCheckpoints:
    """A native thread checkpointing one SQLite database every ``interval`` seconds."""

    def __init__(self, path: str, interval: float):
        self.path = path
        self.interval = interval
        self.runs = 0
        self.failures = 0
        self._stopped = False

    def start(self) -> "BackgroundCheckpoints":
        _native_thread(self._run)
        return self

    def stop(self) -> None:
        self._stopped = True

    def checkpoint(self, connection: sqlite3.Connection) -> tuple[int, int, int]:
        """One pass: (busy, frames in the log, frames copied), as SQLite reports them."""
        return connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def _run(self) -> None:
        sleep = _native_sleep()
        connection = None
        while not self._stopped:
            sleep(self.interval)
            try:
                if connection is None:
                    connection = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
                self.checkpoint(connection)
                self.runs += 1
            except sqlite3.Error as exc:  # a locked or vanished file: try again next time
                self.failures += 1
                if self.failures in (1, 10, 100) or self.failures % 1000 == 0:
                    # No logging here: its locks are gevent's, this thread is not.
                    sys.stderr.write(f"switchboard: WAL checkpoint failed ({self.failures}x): {exc}\n")
                if connection is not None:
                    connection.close()
                    connection = None
        if connection is not None:
            connection.close()


def _native_thread(target) -> None:
    if under_gevent():
        from gevent import monkey

        monkey.get_original("_thread", "start_new_thread")(target, ())
    else:
        import threading

        threading.Thread(target=target, name="sqlite-checkpoints", daemon=True).start()


def _native_sleep():
    if under_gevent():
        from gevent import monkey

        return monkey.get_original("time", "sleep")
    import time

    return time.sleep
