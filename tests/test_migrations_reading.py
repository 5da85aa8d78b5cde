"""The read-positions migration counts what was written before it as read by both sides, so no
conversation opens on a "new messages" divider above its whole past (SQLite file, real
`flask db upgrade` in a subprocess)."""
import sqlite3

import pytest

from tests.support.processes import flask_cli_on_sqlite_file

pytestmark = pytest.mark.slow

BEFORE = "e9a4c2b7f3d1"


def test_existing_conversations_are_read_up_to_their_last_message(tmp_path):
    flask_cli_on_sqlite_file(tmp_path, "db", "upgrade", BEFORE)
    db = sqlite3.connect(tmp_path / "switchboard.db")
    for uid, role in [(1, "client"), (10, "moderator")]:
        db.execute("INSERT INTO users (id, email, display_name, password_hash, role, active, is_online, locale, "
                   "created_at) VALUES (?, ?, ?, 'x', ?, 1, 0, 'en', '2026-11-01 10:00:00')",
                   (uid, f"u{uid}@example.test", f"u{uid}", role))
    db.execute("INSERT INTO profiles (id, name, age, city, bio, active, created_at) VALUES "
               "(1, 'P', 30, '', '', 1, '2026-11-01 10:00:00'), (2, 'Q', 30, '', '', 1, '2026-11-01 10:00:00')")
    db.execute("INSERT INTO conversations (id, client_id, profile_id, pending_count, created_at) "
               "VALUES (1, 1, 1, 0, '2026-11-01 09:00:00'), (2, 1, 2, 0, '2026-11-01 09:00:00')")
    db.executemany("INSERT INTO messages (id, conversation_id, sender, author_id, body, client_token, created_at) "
                   "VALUES (?, 1, ?, ?, ?, ?, '2026-11-01 10:00:00')",
                   [(1, "client", 1, "hello", "a"), (2, "profile", 10, "hi", "b"), (3, "client", 1, "how are you", "c")])
    db.commit()
    db.close()

    flask_cli_on_sqlite_file(tmp_path, "db", "upgrade")

    db = sqlite3.connect(tmp_path / "switchboard.db")
    assert db.execute("SELECT id, client_last_read_id, profile_last_read_id FROM conversations ORDER BY id"
                      ).fetchall() == [(1, 3, 3), (2, None, None)]
    db.close()
