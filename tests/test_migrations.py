"""Migrations carry existing data over: the profile-holding migration gives each profile one
moderator (the one who last received one of its conversations) and its held conversations
follow; the composite key then refuses a conversation held by anyone else. SQLite file, real
`flask db upgrade` in a subprocess (the PostgreSQL suite upgrades the same chain from scratch)."""
import sqlite3

import pytest

from tests.support.processes import flask_cli_on_sqlite_file

pytestmark = pytest.mark.slow

BEFORE = "a7c3e9d1b2f4"  # the revision before profile holding


def test_profile_holding_migration_keeps_one_moderator_per_profile(tmp_path):
    flask_cli_on_sqlite_file(tmp_path, "db", "upgrade", BEFORE)
    db = sqlite3.connect(tmp_path / "switchboard.db")
    users = [(1, "client"), (2, "client"), (3, "client"), (10, "moderator"), (11, "moderator")]
    for uid, role in users:
        db.execute("INSERT INTO users (id, email, display_name, password_hash, role, active, is_online, locale, "
                   "created_at) VALUES (?, ?, ?, 'x', ?, 1, 0, 'en', '2026-11-01 10:00:00')",
                   (uid, f"u{uid}@example.test", f"u{uid}", role))
    db.execute("INSERT INTO profiles (id, name, age, city, bio, active, created_at) "
               "VALUES (1, 'P', 30, '', '', 1, '2026-11-01 10:00:00')")
    # Before: two moderators shared profile 1; moderator 11 received one of its conversations last.
    for cid, client, moderator, at in [(1, 1, 10, "2026-11-01 10:00:00"), (2, 2, 11, "2026-11-01 11:00:00"),
                                       (3, 3, None, None)]:
        db.execute("INSERT INTO conversations (id, client_id, profile_id, assigned_moderator_id, assigned_at, "
                   "pending_count, created_at) VALUES (?, ?, 1, ?, ?, 0, '2026-11-01 09:00:00')",
                   (cid, client, moderator, at))
    db.commit()
    db.close()

    flask_cli_on_sqlite_file(tmp_path, "db", "upgrade")

    db = sqlite3.connect(tmp_path / "switchboard.db")
    db.execute("PRAGMA foreign_keys=ON")
    assert db.execute("SELECT profile_id, moderator_id FROM profile_assignments").fetchall() == [(1, 11)]
    assert db.execute("SELECT id, assigned_moderator_id FROM conversations ORDER BY id").fetchall() == \
        [(1, 11), (2, 11), (3, None)]
    with pytest.raises(sqlite3.IntegrityError):  # nobody else may hold a conversation of profile 1
        db.execute("UPDATE conversations SET assigned_moderator_id = 10 WHERE id = 3")
    db.execute("UPDATE profile_assignments SET moderator_id = 10 WHERE profile_id = 1")  # moving the profile…
    assert db.execute("SELECT id, assigned_moderator_id FROM conversations ORDER BY id").fetchall() == \
        [(1, 10), (2, 10), (3, None)]                                                  # …moves its conversations
    db.close()
