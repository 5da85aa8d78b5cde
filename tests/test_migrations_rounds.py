"""The presence-and-rounds migration carries over client messages already waiting for an answer
as pending rows (SQLite file, real `flask db upgrade` in a subprocess)."""
import sqlite3

import pytest

from tests.support.processes import flask_cli_on_sqlite_file

pytestmark = pytest.mark.slow

BEFORE, AFTER = "da42749ebe6c", "a7c3e9d1b2f4"


def test_waiting_client_messages_become_pending_rows(tmp_path):
    flask_cli_on_sqlite_file(tmp_path, "db", "upgrade", BEFORE)
    db = sqlite3.connect(tmp_path / "switchboard.db")
    for uid, role in [(1, "client"), (10, "moderator")]:
        db.execute("INSERT INTO users (id, email, display_name, password_hash, role, active, is_online, locale, "
                   "created_at) VALUES (?, ?, ?, 'x', ?, 1, 0, 'en', '2026-11-01 10:00:00')",
                   (uid, f"u{uid}@example.test", f"u{uid}", role))
    db.execute("INSERT INTO profiles (id, name, age, city, bio, active, created_at) VALUES "
               "(1, 'P', 30, '', '', 1, '2026-11-01 10:00:00'), (2, 'Q', 30, '', '', 1, '2026-11-01 10:00:00')")
    db.execute("INSERT INTO conversations (id, client_id, profile_id, awaiting_reply_since, pending_count, created_at) "
               "VALUES (1, 1, 1, '2026-11-01 10:05:00', 2, '2026-11-01 09:00:00'), "
               "(2, 1, 2, NULL, 0, '2026-11-01 09:00:00')")
    db.executemany("INSERT INTO messages (id, conversation_id, sender, author_id, body, client_token, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", [
                       (1, 1, "client", 1, "answered", "a", "2026-11-01 10:00:00"),
                       (2, 1, "profile", 10, "answer", "b", "2026-11-01 10:01:00"),
                       (3, 1, "client", 1, "waiting", "c", "2026-11-01 10:05:00"),
                       (4, 1, "client", 1, "waiting too", "d", "2026-11-01 10:06:00"),
                       (5, 2, "client", 1, "answered elsewhere", "e", "2026-11-01 09:00:00")])
    db.commit()
    db.close()

    flask_cli_on_sqlite_file(tmp_path, "db", "upgrade", AFTER)

    db = sqlite3.connect(tmp_path / "switchboard.db")
    assert db.execute("SELECT message_id, client_id, profile_id, conversation_id, pending_since, is_notified, "
                      "is_processed FROM pending_client_messages ORDER BY message_id").fetchall() == [
        (3, 1, 1, 1, "2026-11-01 10:05:00", 0, 0), (4, 1, 1, 1, "2026-11-01 10:06:00", 0, 0)]
    db.close()
