"""Old rows removed while clients keep sending: the cleanup (``services.cleanup.run``, as the daily
job and ``flask cleanup run`` call it) over ``--rows`` rows past their retention, while another
process sends a client message through the real send path (``sending.send_client_message``)
every ``--interval-ms``, writing into one of the tables being cleaned (its pending row).

Data, all inserted in bulk: rows past their retention spread over the kinds (answered messages'
pending rows with their messages, assignment history, resolved conflicts, ended rounds with one
notification each, read and unread notifications, sent mails' keys), one pending row in 50 still
waiting among them (kept), and ``--kept-share`` more rows of each kind within their retention.

Measured: the cleanup's wall time and rows per second, its batches, and how long each concurrent
send took (its wait for locks included), before the cleanup (baseline) and while it ran. It
measures and reports; it never asserts.

    .venv/bin/python bench/cleanup.py --rows 100000                       # SQLite, embedded Redis
    psql -h 127.0.0.1 -U postgres -c 'create database switchboard_bench_cleanup'
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench_cleanup REDIS_URL=redis://127.0.0.1:6379/11 \\
      .venv/bin/python bench/cleanup.py --setup services

The database's public schema is dropped and re-created (the database named ``test`` is refused):
give it a database, and a Redis database, no other run uses at the same time.

Prints one SUMMARY line and stores the figures in bench/results/cleanup.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from percentiles import latency_summary  # noqa: E402
from project import app_version  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import create_profiles, create_users  # noqa: E402

# Of the rows past their retention, the share of each kind (a round counts twice: it and its notification).
SHARES = {"pending_messages": 0.20, "assignment_changes": 0.30, "conflicts": 0.05, "rounds": 0.05,
          "read_notifications": 0.25, "unread_notifications": 0.05, "mail_deliveries": 0.10}
CHUNK = 10_000
CONVERSATIONS = 1000


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="rows past their retention, over all kinds")
    p.add_argument("--kept-share", type=float, default=0.05, help="rows within their retention, as a share of --rows")
    p.add_argument("--setup", choices=("embedded", "services"), default="embedded")
    p.add_argument("--batch-size", type=int, default=None, help="CLEANUP_BATCH_SIZE (default: the setting's)")
    p.add_argument("--interval-ms", type=float, default=5.0, help="pause between two concurrent sends")
    p.add_argument("--baseline-seconds", type=float, default=3.0, help="sends measured before the cleanup starts")
    p.add_argument("--writer", nargs=2, type=int, metavar=("CLIENT", "PROFILE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rows < 100:
        p.error("--rows: at least 100")
    return args


def refuse_the_test_database() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres") and urlsplit(url).path.lstrip("/") == "test":
        raise SystemExit("bench/cleanup.py drops the schema of its database: not the database 'test'")


# -- data ----------------------------------------------------------------------------------------
def insert_rows(table, rows) -> None:
    """``rows`` (an iterable of dicts) inserted in chunks, each chunk a write transaction."""
    from app.database import write_transaction
    from app.extensions import db

    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            with write_transaction():
                db.session.execute(table.insert(), chunk)
            chunk = []
    if chunk:
        with write_transaction():
            db.session.execute(table.insert(), chunk)


def create_data(setup: Setup, rows: int, kept_share: float) -> dict:
    """Rows past their retention (``rows``, spread by SHARES) and rows within it; how many of each."""
    from sqlalchemy import select

    from app.clock import utcnow
    from app.models import Conversation

    moderator, = create_users(setup, "moderator", 1, "bench-cleanup-mod")
    clients = create_users(setup, "client", CONVERSATIONS // 10 + 1, "bench-cleanup-client")
    profiles = create_profiles(setup, 10)
    now = utcnow()
    counts = {kind: int(rows * share) for kind, share in SHARES.items()}
    counts["assignment_changes"] += rows - sum(counts.values())
    counts["rounds"] //= 2
    kept = max(1, int(rows * kept_share / len(SHARES)))
    with setup.app.app_context():
        from app.extensions import db

        insert_rows(Conversation.__table__, ({"client_id": clients[i // 10], "profile_id": profiles[i % 10],
                                              "created_at": now - timedelta(days=400), "pending_count": 0}
                                             for i in range(CONVERSATIONS)))
        conversations = list(db.session.scalars(select(Conversation.id).order_by(Conversation.id)))
        waiting = _pending_rows(now, conversations, counts["pending_messages"], kept)
        _history(now, conversations, moderator, counts["assignment_changes"], kept)
        _conflicts(now, counts["conflicts"], kept)
        _rounds(now, moderator, counts["rounds"], kept)
        _notifications(now, clients, counts["read_notifications"], counts["unread_notifications"], kept)
        _mail_keys(now, counts["mail_deliveries"], kept)
        db.session.remove()
    expected = dict(counts, round_notifications=counts["rounds"], pending_messages=counts["pending_messages"] - waiting)
    return {"expected_removed": expected, "kept_per_kind": kept, "still_waiting_among_old": waiting,
            "writer": (clients[-1], profiles[0])}


def _pending_rows(now, conversations, count: int, kept: int) -> int:
    """Messages and their pending rows: ``count`` old ones (one in 50 still waiting), then ``kept``
    answered lately. Returns how many of the old ones still wait."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Conversation, Message, PendingClientMessage
    from app.models.chat import Sender

    total = count + kept
    client_of = dict(db.session.execute(select(Conversation.id, Conversation.client_id)).all())
    profile_of = dict(db.session.execute(select(Conversation.id, Conversation.profile_id)).all())
    db.session.rollback()

    def sent_at(i):
        return now - timedelta(days=60, seconds=total - i) if i < count else now - timedelta(days=1, seconds=total - i)

    insert_rows(Message.__table__, ({"conversation_id": conversations[i % len(conversations)], "sender": Sender.CLIENT,
                                     "author_id": client_of[conversations[i % len(conversations)]],
                                     "body": "Bonjour ?", "client_token": f"bench-{i}", "created_at": sent_at(i)}
                                    for i in range(total)))
    messages = list(db.session.scalars(select(Message.id).order_by(Message.id)))
    db.session.rollback()
    insert_rows(PendingClientMessage.__table__, (
        {"message_id": messages[i], "client_id": client_of[conversations[i % len(conversations)]],
         "profile_id": profile_of[conversations[i % len(conversations)]],
         "conversation_id": conversations[i % len(conversations)], "pending_since": sent_at(i), "is_notified": True,
         "is_processed": i % 50 != 0 or i >= count,
         "processed_at": None if (i % 50 == 0 and i < count) else sent_at(i) + timedelta(minutes=5)}
        for i in range(total)))
    return (count + 49) // 50


def _history(now, conversations, moderator: int, count: int, kept: int) -> None:
    from app.models import AssignmentChange, ChangeReason

    insert_rows(AssignmentChange.__table__, (
        {"conversation_id": conversations[i % len(conversations)], "from_moderator_id": None,
         "to_moderator_id": moderator, "reason": ChangeReason.NEW,
         "changed_at": now - timedelta(days=200 if i < count else 1, seconds=i)} for i in range(count + kept)))


def _conflicts(now, count: int, kept: int) -> None:
    from app.models import AssignmentConflict

    insert_rows(AssignmentConflict.__table__, (
        {"kind": "claim_race", "moderator_ids": "", "detail": "bench", "resolution": "the first claim won",
         "detected_at": now - timedelta(days=200 if i < count else 1, seconds=i),
         "resolved_at": now - timedelta(days=200 if i < count else 1, seconds=i)} for i in range(count + kept)))


def _rounds(now, moderator: int, count: int, kept: int) -> None:
    """One round per cycle, each with its notification; the last ``kept`` cycles ended lately."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import NotificationRound, RoundNotification

    def ended(i):
        return now - timedelta(days=100 if i < count else 1, seconds=count + kept - i)

    insert_rows(NotificationRound.__table__, (
        {"cycle": i + 1, "round_number": 1, "moderator_ids_notified": [moderator], "sent_at": ended(i),
         "pending_messages_count": 1, "cycle_ended_at": ended(i)} for i in range(count + kept)))
    ids = list(db.session.scalars(select(NotificationRound.id).order_by(NotificationRound.cycle)))
    db.session.rollback()
    insert_rows(RoundNotification.__table__, ({"cycle": i + 1, "round_id": ids[i], "moderator_id": moderator,
                                               "email": "bench-cleanup-mod-00000@example.test"}
                                              for i in range(count + kept)))


def _notifications(now, users, read: int, unread: int, kept: int) -> None:
    from app.models import Notification

    def row(i, at, read_at):
        return {"user_id": users[i % len(users)], "kind": "reply", "object_key": f"bench:{i}", "params": {},
                "link": "", "count": 1, "created_at": at, "updated_at": at, "read_at": read_at}

    old, late = now - timedelta(days=400), now - timedelta(days=1)
    insert_rows(Notification.__table__, (
        row(i, old, old) if i < read else row(i, old, None) if i < read + unread else row(i, late, late)
        for i in range(read + unread + kept)))


def _mail_keys(now, count: int, kept: int) -> None:
    from app.models import MailDelivery

    insert_rows(MailDelivery.__table__, (
        {"key": f"bench:{i}", "recipient": "someone@example.test",
         "claimed_at": now - timedelta(days=100 if i < count else 1), "sent_at": now - timedelta(days=100 if i < count else 1)}
        for i in range(count + kept)))


def vacuum_analyze(setup: Setup) -> None:
    """Fresh planner statistics after the bulk inserts (PostgreSQL: VACUUM ANALYZE; SQLite: ANALYZE)."""
    from sqlalchemy import text

    from app.extensions import db

    with setup.app.app_context():
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"))
        db.session.remove()


# -- the concurrent sender -------------------------------------------------------------------------
def writer(client_id: int, profile_id: int, interval: float) -> None:
    """In its own process: a client message every ``interval`` seconds until stdin closes; then
    prints [[started (time.time()), seconds], ...] as JSON."""
    from app import create_app
    from app.clock import utcnow
    from app.extensions import db
    from app.services import sending

    app = create_app()
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    timings, n = [], 0
    with app.test_request_context(base_url=app.config["PUBLIC_URL"]):
        while not stop.is_set():
            started, clock = time.time(), time.perf_counter()
            sending.send_client_message(client_id, profile_id, f"still there? {n}", f"writer-{os.getpid()}-{n}",
                                        utcnow())
            timings.append([started, time.perf_counter() - clock])
            db.session.remove()
            if n == 0:
                print("ready", flush=True)
            n += 1
            time.sleep(interval)
    print(json.dumps(timings), flush=True)


def start_writer(setup: Setup, client_id: int, profile_id: int, interval_ms: float) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, __file__, "--writer", str(client_id), str(profile_id),
                              "--interval-ms", str(interval_ms)], env={**os.environ, **setup.env},
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if child.stdout.readline().strip() != "ready":
        child.kill()
        raise SystemExit("the concurrent sender did not start")
    return child


def stop_writer(child: subprocess.Popen) -> list[list[float]]:
    out, _ = child.communicate(input="", timeout=120)
    return json.loads(out.strip().splitlines()[-1])


# -- the run -------------------------------------------------------------------------------------
def run_cleanup(setup: Setup, batch_size: int | None):
    from app.clock import utcnow
    from app.services import cleanup

    with setup.app.app_context():
        settings = cleanup.Settings.from_config(setup.app.config)
        if batch_size:
            settings = replace(settings, batch_size=batch_size)
        started = time.time()
        report = cleanup.run(utcnow(), settings)
        return report, started, time.time(), settings.batch_size


def sends_summary(timings, start: float | None = None, end: float | None = None) -> dict:
    """The sends that started before ``end`` and were still running at ``start`` (all when None)."""
    chosen = [seconds * 1000 for began, seconds in timings
              if (end is None or began < end) and (start is None or began + seconds > start)]
    return latency_summary(chosen)


def main() -> None:
    args = parse_args()
    if args.writer:
        writer(*args.writer, args.interval_ms / 1000)
        return
    refuse_the_test_database()
    with Setup(args.setup) as setup:
        setup.prepare()
        t = time.monotonic()
        data = create_data(setup, args.rows, args.kept_share)
        vacuum_analyze(setup)
        print(f"  data: {args.rows} rows past their retention, {data['kept_per_kind']} within it per kind "
              f"({time.monotonic() - t:.1f} s)", flush=True)
        child = start_writer(setup, *data["writer"], args.interval_ms)
        try:
            time.sleep(args.baseline_seconds)
            report, started, ended, batch_size = run_cleanup(setup, args.batch_size)
            time.sleep(1.0)
        finally:
            timings = stop_writer(child)
        removed = report.total
        baseline = sends_summary([tm for tm in timings if tm[0] < started])
        during = sends_summary(timings, started, ended)
        record = {"taken_at": now_iso(), "app_version": app_version(), "machine": machine(),
                  "setup": setup.describe(), "rows_past_retention": args.rows, "batch_size": batch_size,
                  "removed": report.removed, "expected_removed": data["expected_removed"],
                  "kept_per_kind": data["kept_per_kind"], "batches": report.batches,
                  "seconds": round(report.seconds, 2), "rows_per_second": round(removed / report.seconds),
                  "send_interval_ms": args.interval_ms, "sends_before_ms": baseline, "sends_during_ms": during}
        write_result("cleanup", f"{args.setup}_{args.rows}_rows", record)
    print(f"SUMMARY cleanup ({args.setup}): {removed} rows removed in {report.seconds:.1f} s "
          f"({removed / report.seconds:,.0f} rows/s, {report.batches} batches of {batch_size}); concurrent sends "
          f"during it: {during['count']}, p50 {during['p50_ms']} ms, p99 {during['p99_ms']} ms, max {during['max_ms']} ms "
          f"(before it: p50 {baseline['p50_ms']} ms, p99 {baseline['p99_ms']} ms, max {baseline['max_ms']} ms)")


if __name__ == "__main__":
    main()
