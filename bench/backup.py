"""Backing up and restoring a database of many messages: the time of a backup (PostgreSQL:
``pg_dump -Fc``; SQLite: its online backup API), of the check a restore makes of the file first
(read whole), and of a restore into an empty database (check included), with the file's size and
the database's.

Seeds ``--messages`` messages (default 1,000,000) over ``--conversations`` conversations (one
client each, spread over 100 profiles) with a few ``INSERT ... SELECT`` statements, on the
database DATABASE_URL names: its data is replaced (PostgreSQL: the public schema dropped and
made again), so it refuses a database named ``test``. The restore goes into a database made for
it (PostgreSQL: ``<name>_restored``, dropped at the end; SQLite: a file in a temporary folder).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench_backup REDIS_URL=redis://127.0.0.1:6379/10 \\
      .venv/bin/python bench/backup.py [--messages 1000000]

Prints one SUMMARY line and stores the figures in bench/results/backup.json.
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from project import app_version  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import (create_profiles, create_users, insert_in_batches, numbers_sql,  # noqa: E402
                     replaceable_database)

PROFILES = 100
BODIES = (
    "Bonjour ! Tu as passé une bonne journée ? J'ai visité le musée, c'était génial.",
    "Привет! Как прошли выходные? Я ездил на дачу к родителям.",
    "Haha 😀👍 see you tomorrow then ❤️",
    "Hallo! Wie war dein Wochenende? Wir waren am Strand, das Wetter war schön.",
    "A longer message, the kind people write when they tell a story: first this happened, then that, "
    "and in the end everyone laughed about it for a long while, even the ones who had been grumpy.",
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument("--conversations", type=int, default=10_000)
    p.add_argument("--batch", type=int, default=100_000, help="messages per INSERT ... SELECT")
    args = p.parse_args(argv)
    replaceable_database(p)
    if args.messages < args.conversations or args.conversations < PROFILES:
        p.error(f"--messages at least --conversations, --conversations at least {PROFILES}")
    return args




def seed(setup: Setup, args) -> float:
    """Clients, moderators, profiles, conversations and messages; the seconds it took."""
    from sqlalchemy import insert, select, text

    from app.database import write_transaction
    from app.extensions import db
    from app.models import Conversation

    started = time.perf_counter()
    clients = create_users(setup, "client", args.conversations, "client")
    moderators = create_users(setup, "moderator", PROFILES, "moderator")
    profiles = create_profiles(setup, PROFILES)
    at = datetime(2026, 1, 1)
    with setup.app.app_context():
        dialect = db.engine.dialect.name
        with write_transaction():
            db.session.execute(insert(Conversation), [
                {"client_id": c, "profile_id": profiles[i % PROFILES], "pending_count": 0, "created_at": at,
                 "last_message_at": at} for i, c in enumerate(clients)])
        first = db.session.scalar(select(Conversation.id).order_by(Conversation.id).limit(1))
        sender = "CAST(CASE WHEN s.g % 3 = 0 THEN 'profile' ELSE 'client' END AS message_sender)" \
            if dialect == "postgresql" else "CASE WHEN s.g % 3 = 0 THEN 'profile' ELSE 'client' END"
        body = "CASE s.g % 5 " + " ".join(f"WHEN {i} THEN :b{i}" for i in range(len(BODIES))) + " END"
        noise = "md5(CAST(s.g AS text))" if dialect == "postgresql" else "hex(randomblob(16))"  # text compression cannot fold
        statement = text(
            "INSERT INTO messages (conversation_id, sender, author_id, body, client_token, created_at) "
            f"SELECT c.id, {sender}, CASE WHEN s.g % 3 = 0 THEN :moderator ELSE c.client_id END, "
            f"{body} || ' ' || {noise}, 'bench-' || s.g, :at "
            f"FROM ({numbers_sql(dialect)}) AS s "
            "JOIN conversations c ON c.id = :first + s.g % :conversations")
        values = {f"b{i}": b for i, b in enumerate(BODIES)} | {
            "at": at, "first": first, "conversations": args.conversations, "moderator": moderators[0]}
        insert_in_batches(statement, values, args.messages, args.batch)
    return time.perf_counter() - started


class EmptyDatabase:
    """A database to restore into: a PostgreSQL database made for the run and dropped after it,
    or a new SQLite file."""

    def __init__(self, setup: Setup):
        from sqlalchemy.engine import make_url

        self.url = make_url(setup.app.config["SQLALCHEMY_DATABASE_URI"])
        self.postgresql = self.url.get_backend_name() == "postgresql"
        self.name = f"{self.url.database}_restored" if self.postgresql else str(setup.tmp / "restored.db")

    def __enter__(self) -> str:
        self._server(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)', f'CREATE DATABASE "{self.name}"')
        return self.url.set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *exc) -> None:
        self._server(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _server(self, *statements: str) -> None:
        if not self.postgresql:
            return
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
        engine.dispose()


def count_messages(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        found = connection.scalar(text("SELECT count(*) FROM messages"))
    engine.dispose()
    return found


def database_bytes(setup: Setup) -> int:
    from sqlalchemy import text

    from app.extensions import db

    with setup.app.app_context():
        if db.engine.dialect.name == "postgresql":
            size = db.session.scalar(text("SELECT pg_database_size(current_database())"))
        else:
            size = Path(db.engine.url.database).stat().st_size
        db.session.remove()
    return size


def measure(setup: Setup) -> dict:
    """Backup, check and restore, each timed once."""
    from app.services import backups

    config = setup.app.config
    url, tools = config["SQLALCHEMY_DATABASE_URI"], backups.Settings.from_config(config).tools
    started = time.perf_counter()
    made = backups.run(url, setup.tmp / "backups", 2, datetime.now(timezone.utc), tools)
    backup_seconds = time.perf_counter() - started
    started = time.perf_counter()
    backups.check_backup(made.written.path, url, tools)
    check_seconds = time.perf_counter() - started
    with EmptyDatabase(setup) as empty:
        started = time.perf_counter()
        backups.restore(made.written.path, empty, tools)
        restore_seconds = time.perf_counter() - started
        restored = count_messages(empty)
    return {"backup_seconds": round(backup_seconds, 2), "check_seconds": round(check_seconds, 2),
            "restore_seconds": round(restore_seconds, 2), "file_bytes": made.written.size,
            "restored_messages": restored}


def main() -> None:
    args = parse_args()
    with Setup("services") as setup:
        setup.prepare()
        seed_seconds = seed(setup, args)
        figures = measure(setup) | {"database_bytes": database_bytes(setup), "seed_seconds": round(seed_seconds, 1)}
        if figures["restored_messages"] != args.messages:
            raise SystemExit(f"the restored database holds {figures['restored_messages']} messages, not {args.messages}")
        kind = "postgresql" if setup.database_name else "sqlite"
        record = {"taken_at": now_iso(), "app_version": app_version(), "machine": machine(),
                  "setup": setup.describe(), "messages": args.messages, "conversations": args.conversations,
                  **figures}
        write_result("backup", f"{kind}_{args.messages}_messages", record)
    print(f"SUMMARY backup of {args.messages:,} messages ({kind}, database {figures['database_bytes'] / 2**20:.0f} MiB): "
          f"backup {figures['backup_seconds']:.1f} s, file {figures['file_bytes'] / 2**20:.1f} MiB; "
          f"check {figures['check_seconds']:.1f} s; restore into an empty database {figures['restore_seconds']:.1f} s "
          f"(check included)")


if __name__ == "__main__":
    main()
