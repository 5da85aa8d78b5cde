"""``flask backup run|list|restore`` through Flask's CLI runner, on the suite's own database: a
restore asks first (unless --yes), puts the backup's rows back, and refuses what is not a backup."""
from __future__ import annotations

import pytest

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import User
from app.redis_client import get_redis, names
from app.services import backups, notifications
from tests.support.factories import count, make_user


@pytest.fixture
def runner(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setitem(app.config, "BACKUP_KEEP", 2)
    monkeypatch.setitem(app.config, "BACKUP_TOOL_TIMEOUT_SECONDS", 60)
    return app.test_cli_runner()


def _invoke(runner, *args, answer: str | None = None):
    with runner.app.app_context():
        db.session.remove()  # no transaction of this test in the way of a restore
    return runner.invoke(args=["backup", *args], input=answer)


def test_run_then_list(app, runner, tmp_path):
    assert "0 backup(s) in" in _invoke(runner, "list").output

    made = _invoke(runner, "run")
    assert made.exit_code == 0, made.output
    [backup] = backups.list_backups(tmp_path / "backups")
    assert made.output.startswith(f"Wrote {backup.path} (")

    listed = _invoke(runner, "list")
    assert listed.exit_code == 0, listed.output
    assert listed.output.startswith(f"{backup.name}  {backup.taken_at:%Y-%m-%d %H:%M:%S} UTC")
    assert f"1 backup(s) in {tmp_path / 'backups'}" in listed.output


def test_run_beyond_the_count_kept_removes_the_oldest(app, runner, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    for day in (1, 2):
        (folder / f"switchboard-2026120{day}T031500Z.sqlite3").write_bytes(b"an old backup")
    made = _invoke(runner, "run")
    assert made.exit_code == 0, made.output
    assert "Removed switchboard-20261201T031500Z.sqlite3 (more than 2 backups)." in made.output
    assert [b.name for b in backups.list_backups(folder)][1:] == ["switchboard-20261202T031500Z.sqlite3"]


def test_restore_asks_first_then_puts_the_backup_back(app, runner, tmp_path):
    make_user(email="before@example.test")
    assert _invoke(runner, "run").exit_code == 0
    [backup] = backups.list_backups(tmp_path / "backups")
    make_user(email="after@example.test")

    declined = _invoke(runner, "restore", str(backup.path), answer="n\n")
    assert declined.exit_code != 0 and "Replace everything in" in declined.output and "Aborted" in declined.output
    assert count(User, email="after@example.test") == 1

    accepted = _invoke(runner, "restore", str(backup.path), answer="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert f"Restored {backup.path} (schema revision " in accepted.output
    assert count(User, email="after@example.test") == 0 and count(User, email="before@example.test") == 1


def test_restore_with_yes_asks_nothing_and_takes_a_name_from_the_list(app, runner, tmp_path):
    make_user(email="before@example.test")
    assert _invoke(runner, "run").exit_code == 0
    [backup] = backups.list_backups(tmp_path / "backups")
    make_user(email="after@example.test")

    restored = _invoke(runner, "restore", backup.name, "--yes")
    assert restored.exit_code == 0, restored.output
    assert "Replace everything" not in restored.output
    assert count(User, email="after@example.test") == 0 and count(User, email="before@example.test") == 1


def test_a_restore_drops_the_counts_cached_from_the_old_rows_and_reloads_the_filters(app, runner, tmp_path):
    user = make_user()
    assert _invoke(runner, "run").exit_code == 0
    [backup] = backups.list_backups(tmp_path / "backups")
    with app.test_request_context():
        with write_transaction():
            notifications.notify(user.id, "ticket", "ticket:1", now=utcnow(), params={"subject": "help"})
        notifications.invalidate(user.id)
        assert notifications.unread_count(user.id) == 1  # cached in Redis from the rows after the backup
        filters_before = get_redis().get(names().filter_rules_version)

    restored = _invoke(runner, "restore", backup.name, "--yes")
    assert restored.exit_code == 0, restored.output
    assert "cached notification counts of 1 user(s) dropped" in restored.output
    with app.test_request_context():
        assert notifications.unread_count(user.id) == 0  # the restored rows have no notification
        assert get_redis().get(names().filter_rules_version) != filters_before


def test_restore_of_a_missing_file_fails_clearly(app, runner, tmp_path):
    missing = _invoke(runner, "restore", "switchboard-20260101T000000Z.dump", "--yes")
    assert missing.exit_code == 1
    assert f"Error: No backup file switchboard-20260101T000000Z.dump (nor in {tmp_path / 'backups'})." in missing.output


def test_restore_of_a_file_that_is_not_a_backup_fails_clearly_and_changes_nothing(app, runner, tmp_path):
    make_user(email="kept@example.test")
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a backup\n" * 100)
    refused = _invoke(runner, "restore", str(text_file), "--yes")
    assert refused.exit_code == 1
    assert f"Error: {text_file} is not a backup of a" in refused.output
    assert count(User, email="kept@example.test") == 1
