"""The statistics page's figures on a database of many messages: how long ``services.statistics``
takes to read a week and a day (``report``), a week six weeks back (read up to a week after it,
and up to now as before ``REPORT_ANSWER_WITHIN_DAYS``), and the moderators' loads and the
longest waits beside them, as the admin's page asks for them.

Seeds ``--messages`` messages (default 1,000,000) spread evenly over the last ``--days`` days
(default 60), in ``--conversations`` conversations (one client each, over 100 profiles; two client
messages then a reply, in turn), with a few ``INSERT ... SELECT`` statements, on the database
DATABASE_URL names: its data is replaced, so it refuses a database named ``test``.

Each figure is the median of ``--repeats`` calls (wall time and this process's CPU time); the
database's time is the difference. ``--drop-index NAME`` measures twice in one sitting, alternating
with the index and without it (dropped, then made again), to show what an index is worth.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
      .venv/bin/python bench/statistics_page.py [--messages 1000000] [--drop-index ix_messages_created_at]

Prints one SUMMARY line and stores the figures in bench/results/statistics_page.json.
"""
from __future__ import annotations

import argparse
import statistics as stats_module
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from project import app_version  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import (create_profiles, create_users, insert_in_batches, numbers_sql,  # noqa: E402
                     replaceable_database)

PROFILES = 100


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=60)
    p.add_argument("--conversations", type=int, default=20_000)
    p.add_argument("--batch", type=int, default=100_000, help="messages per INSERT ... SELECT")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--drop-index", default="", help="also measure without this index (alternating)")
    args = p.parse_args(argv)
    replaceable_database(p)
    if args.messages < args.conversations or args.conversations < PROFILES or args.days < 8:
        p.error(f"--messages at least --conversations, --conversations at least {PROFILES}, --days at least 8")
    return args




def seed(setup: Setup, args, now: datetime) -> float:
    from sqlalchemy import insert, select, text

    from app.database import write_transaction
    from app.extensions import db
    from app.models import Conversation

    started = time.perf_counter()
    clients = create_users(setup, "client", args.conversations, "client")
    moderators = create_users(setup, "moderator", PROFILES, "moderator")
    profiles = create_profiles(setup, PROFILES)
    first_at = now - timedelta(days=args.days)
    step = args.days * 86400 / args.messages  # seconds between two messages
    with setup.app.app_context():
        dialect = db.engine.dialect.name
        with write_transaction():
            db.session.execute(insert(Conversation), [
                {"client_id": c, "profile_id": profiles[i % PROFILES], "pending_count": 0,
                 "created_at": first_at + timedelta(seconds=i * step), "last_message_at": now}
                for i, c in enumerate(clients)])
        first = db.session.scalar(select(Conversation.id).order_by(Conversation.id).limit(1))
        sender = "CAST(CASE WHEN s.g % 3 = 0 THEN 'profile' ELSE 'client' END AS message_sender)" \
            if dialect == "postgresql" else "CASE WHEN s.g % 3 = 0 THEN 'profile' ELSE 'client' END"
        at = ("CAST(:first_at AS timestamp) + s.g * CAST(:step AS double precision) * interval '1 second'"
              if dialect == "postgresql" else "datetime(:first_at, '+' || (s.g * :step) || ' seconds')")
        # Message g goes to conversation g / 3 (mod the count): two client messages then a reply.
        statement = text(
            "INSERT INTO messages (conversation_id, sender, author_id, body, client_token, created_at) "
            f"SELECT c.id, {sender}, CASE WHEN s.g % 3 = 0 THEN :moderator + (c.id % :profiles) ELSE c.client_id END, "
            f"'message ' || s.g, 'bench-' || s.g, {at} "
            f"FROM ({numbers_sql(dialect)}) AS s "
            "JOIN conversations c ON c.id = :first + (s.g / 3) % :conversations")
        values = {"first_at": first_at, "step": step, "first": first, "conversations": args.conversations,
                  "moderator": moderators[0], "profiles": PROFILES}
        insert_in_batches(statement, values, args.messages, args.batch)
    return time.perf_counter() - started


def timed(call, repeats: int) -> dict:
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return {"wall_ms": round(stats_module.median(walls), 1), "process_cpu_ms": round(stats_module.median(cpus), 1),
            "walls_ms": [round(w, 1) for w in walls]}


def measure(setup: Setup, now: datetime, repeats: int, admin_id: int) -> dict:
    from app.extensions import db
    from app.models import User
    from app.services import statistics

    config = setup.app.config
    week_start, day_start, old_start = now - timedelta(days=7), now - timedelta(days=1), now - timedelta(days=49)
    with setup.app.app_context():
        figures = {}
        admin = lambda: db.session.get(User, admin_id)  # noqa: E731 - the page's reader, loaded per call
        for name, call in (
                ("week", lambda: statistics.report(admin(), week_start, now)),
                ("day", lambda: statistics.report(admin(), day_start, now)),
                # a week six weeks back, read up to a week after it (the default), and up to now
                # (what the report read before REPORT_ANSWER_WITHIN_DAYS bounded it)
                ("old_week", lambda: statistics.report(admin(), old_start, old_start + timedelta(days=7))),
                ("old_week_read_to_now", lambda: statistics.report(admin(), old_start, old_start + timedelta(days=7),
                                                                   answer_within=now - old_start)),
                ("moderator_loads", lambda: statistics.moderator_loads(
                    admin(), now, now - timedelta(days=1), config["OVERLOADED_WAITING"],
                    config["OVERLOADED_WAIT_SECONDS"])),
                ("waiting_clients", lambda: statistics.waiting_clients(admin(), config["REPORT_WAITING_CLIENTS"]))):
            figures[name] = timed(call, repeats)
            db.session.remove()
        week = statistics.report(None, week_start, now)
        figures["week_messages"] = week.client_messages + week.replies
        db.session.remove()
    return figures


def set_index(setup: Setup, name: str, present: bool, definition: str) -> None:
    from sqlalchemy import text

    from app.extensions import db

    with setup.app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
            if present:
                conn.execute(text(definition))
            conn.execute(text("ANALYZE messages"))


def index_definition(setup: Setup, name: str) -> str:
    from sqlalchemy import text

    from app.extensions import db

    with setup.app.app_context():
        with db.engine.connect() as conn:
            if db.engine.dialect.name == "postgresql":
                found = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": name}).scalar()
            else:
                found = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"),
                                     {"n": name}).scalar()
    if not found:
        raise SystemExit(f"no index named {name}")
    return found


def main() -> None:
    args = parse_args()
    now = datetime.utcnow().replace(microsecond=0)
    with Setup("services") as setup:
        setup.prepare()
        seed_seconds = seed(setup, args, now)
        [admin_id] = create_users(setup, "admin", 1, "admin")
        runs = []
        if args.drop_index:
            definition = index_definition(setup, args.drop_index)
            for present in (True, False, True, False):
                set_index(setup, args.drop_index, present, definition)
                runs.append({"index": args.drop_index if present else None, **measure(setup, now, args.repeats, admin_id)})
            set_index(setup, args.drop_index, True, definition)
        else:
            runs.append(measure(setup, now, args.repeats, admin_id))
        kind = "postgresql" if setup.database_name else "sqlite"
        record = {"taken_at": now_iso(), "app_version": app_version(), "machine": machine(),
                  "setup": setup.describe(), "messages": args.messages, "days": args.days,
                  "conversations": args.conversations, "seed_seconds": round(seed_seconds, 1), "runs": runs}
        write_result("statistics_page", f"{kind}_{args.messages}_messages", record)
    parts = []
    for run in runs:
        label = "" if not args.drop_index else (f"with {run['index']}: " if run["index"] else "without it: ")
        parts.append(f"{label}week ({run['week_messages']:,} messages) {run['week']['wall_ms']:.0f} ms "
                     f"(CPU here {run['week']['process_cpu_ms']:.0f}), day {run['day']['wall_ms']:.0f} ms "
                     f"(CPU {run['day']['process_cpu_ms']:.0f}), a week 6 weeks back {run['old_week']['wall_ms']:.0f} ms "
                     f"(read to now: {run['old_week_read_to_now']['wall_ms']:.0f} ms), loads {run['moderator_loads']['wall_ms']:.1f} ms, "
                     f"longest waits {run['waiting_clients']['wall_ms']:.1f} ms")
    print(f"SUMMARY statistics over {args.messages:,} messages in {args.days} days ({kind}): " + "; ".join(parts))


if __name__ == "__main__":
    main()
