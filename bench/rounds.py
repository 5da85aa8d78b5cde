"""Notification rounds and presence passes at scale, on PostgreSQL: one pending-messages pass
(``process_pending_messages``) and one moderator-activity pass (``calculate_moderator_activity``).

In-process, through the job functions as the worker runs them (job context, one write
transaction, the e-mails and the marking job enqueued on Redis afterwards — nobody runs those;
the queues are emptied).

Data: M moderators (each holding P/M profiles), P profiles, C clients, N conversations (one per
client × profile pair, held by their profile's holder), and ``--pending`` client messages spread
over them round-robin in time order, each with its ``pending_client_messages`` row, waiting 6 to
120 minutes.

Phases (each repeated ``--repeats`` times after a reset, ``VACUUM ANALYZE`` and a bounded wait
for the CPUs to be quiet; the summary gives the median):

* ``round_all_waiting``: every pending row unprocessed and not notified, no cycle open, 30 % of
  the moderators online: the pass starts round 1 — the worst case (a backlog of ``--pending``
  unanswered messages); then ``round_all_waiting_marking_job``, the job that marks them all
  notified (in batches);
* ``round_some_waiting``: the same table with only ``--waiting-share`` of the rows unprocessed
  (the rest answered): the usual case; then its marking job;
* ``pass_cycle_open``: the pass again while the cycle is open (what it does most of the time);
* ``check_due``: the round check 31 minutes after round 1: round 2;
* ``activity``: every moderator online, a third with a live socket in Redis, a third with a
  recent heartbeat, a third quiet for 6 minutes: the pass marks the quiet third offline;
* ``activity_nothing_to_do``: the pass again (nobody left to mark).

The statements of one run of each phase are timed through SQLAlchemy's cursor events, and the
main ones run again under EXPLAIN ANALYZE (in a rolled-back transaction) to show which index
they use. The script measures and reports; it never asserts.

    createdb -h 127.0.0.1 -U postgres switchboard_bench
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
      .venv/bin/python bench/rounds.py

The database's public schema is dropped and re-created: give it a database (and a Redis
database) no other run uses at the same time.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_accounting import wait_for_quiet  # noqa: E402
from project import ROOT, app_version  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import create_profiles, create_users  # noqa: E402
from sql_diagnostics import TimedStatements, explain, short_sql  # noqa: E402

AIM_MS = 500.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pending", type=int, default=100_000, help="pending client messages (rows)")
    p.add_argument("--moderators", type=int, default=1000)
    p.add_argument("--conversations", type=int, default=20_000)
    p.add_argument("--profiles", type=int, default=2000)
    p.add_argument("--clients", type=int, default=2001, help="coprime with --profiles (one conversation per pair)")
    p.add_argument("--waiting-share", type=float, default=0.05,
                   help="share of the pending rows still unprocessed in the round_some_waiting phase")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quiet-wait", type=float, default=30.0)
    args = p.parse_args(argv)
    if args.conversations > args.clients * args.profiles:
        p.error("more conversations than client × profile pairs")
    return args


# -- statements -------------------------------------------------------------------------------
class Statements(TimedStatements):
    """Every SQL statement run while active: (sql, parameters, seconds)."""

    def __init__(self, engine):
        super().__init__(engine)
        self.rows = []

    def record(self, statement, parameters, seconds):
        self.rows.append((statement, parameters, seconds))

    def summary(self, top: int = 5) -> dict:
        rows = sorted(self.rows, key=lambda r: -r[2])[:top]
        return {"statements": len(self.rows), "db_ms": round(sum(r[2] for r in self.rows) * 1000, 1),
                "slowest": [{"sql": short_sql(s), "ms": round(t * 1000, 2)} for s, _, t in rows]}


def explain_main(engine, statements: Statements, needles: dict[str, str]) -> dict:
    """The plan of the first statement containing each needle: {name: {sql, plan, index_used}}."""
    found = {}
    for name, needle in needles.items():
        for sql, params, _ in statements.rows:
            if needle in sql and not isinstance(params, list):
                plan = explain(engine, sql, params)
                found[name] = {"sql": short_sql(sql, 400), "index_used": any("Index" in line for line in plan),
                               "plan": plan}
                break
    return found


# -- data --------------------------------------------------------------------------------------
def create_data(setup: Setup, args) -> dict:
    from sqlalchemy import inspect, text

    from app.database import write_transaction
    from app.extensions import db
    from app.clock import utcnow

    t = time.monotonic()
    mods = create_users(setup, "moderator", args.moderators, "bench-mod")
    clients = create_users(setup, "client", args.clients, "bench-client")
    profiles = create_profiles(setup, args.profiles)
    now = utcnow()
    per_conversation = max(1, args.pending // args.conversations)
    with setup.app.app_context():
        holding = inspect(db.engine).has_table("profile_assignments")
        with write_transaction():
            params = {"mods": mods, "clients": clients, "profiles": profiles, "m": len(mods), "c": len(clients),
                      "p": len(profiles), "n": args.conversations, "now": now}
            if holding:  # the schema ties a conversation's moderator to its profile's holder
                db.session.execute(text(
                    "INSERT INTO profile_assignments (profile_id, moderator_id, assigned_at) "
                    "SELECT (CAST(:profiles AS integer[]))[i + 1], (CAST(:mods AS integer[]))[i % :m + 1], :now "
                    "FROM generate_series(0, :p - 1) AS i"), params)
            db.session.execute(text(
                "INSERT INTO conversations (client_id, profile_id, assigned_moderator_id, assigned_at, "
                "awaiting_reply_since, pending_count, last_message_at, last_client_message_at, created_at) "
                "SELECT (CAST(:clients AS integer[]))[k % :c + 1], (CAST(:profiles AS integer[]))[k % :p + 1], "
                "(CAST(:mods AS integer[]))[(k % :p) % :m + 1], :now - interval '3 hours', "
                ":now - interval '2 hours', 1, :now - interval '6 minutes', :now - interval '6 minutes', "
                ":now - interval '3 hours' FROM generate_series(0, :n - 1) AS k"), params)
            # Messages arrive in time order (ids and pending_since grow together), round-robin over
            # the conversations, over the last two hours.
            first = db.session.execute(text("SELECT min(id) FROM conversations")).scalar()
            db.session.execute(text(
                "INSERT INTO messages (conversation_id, sender, author_id, body, client_token, created_at) "
                "SELECT c.id, 'client', c.client_id, 'Bonjour ?', 'bench-' || k, "
                ":now - interval '120 minutes' + k * (interval '114 minutes' / :total) "
                "FROM generate_series(0, :total - 1) AS k JOIN conversations c ON c.id = :first + k % :n ORDER BY k"),
                {"now": now, "total": per_conversation * args.conversations, "first": first, "n": args.conversations})
            db.session.execute(text(
                "INSERT INTO pending_client_messages (message_id, client_id, profile_id, conversation_id, "
                "pending_since, is_notified, is_processed) "
                "SELECT m.id, c.client_id, c.profile_id, c.id, m.created_at, false, false "
                "FROM messages m JOIN conversations c ON c.id = m.conversation_id"))
        count = db.session.execute(text("SELECT count(*) FROM pending_client_messages")).scalar()
        db.session.remove()
    print(f"  data: {len(mods)} moderators, {len(profiles)} profiles, {len(clients)} clients, "
          f"{args.conversations} conversations, {count} pending rows ({time.monotonic() - t:.1f} s); "
          f"profile holding {'in' if holding else 'not in'} the schema", flush=True)
    return {"moderators": mods, "pending_rows": count, "holding": holding}


def vacuum_analyze() -> None:
    from sqlalchemy import text

    from app.extensions import db

    db.session.remove()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("pending_client_messages", "users", "conversations", "moderator_notification_rounds",
                      "moderator_round_notifications", "moderator_queue"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))


def reset_rounds(data: dict, waiting_share: float, online_share: float = 0.3) -> None:
    """No rounds; ``waiting_share`` of the pending rows unprocessed and none notified; the first
    ``online_share`` of the moderators online (nobody else)."""
    from sqlalchemy import text

    from app.database import write_transaction
    from app.extensions import db
    from app.clock import utcnow

    now, mods = utcnow(), data["moderators"]
    online = mods[:int(len(mods) * online_share)]
    with write_transaction():
        db.session.execute(text("DELETE FROM moderator_round_notifications"))
        db.session.execute(text("DELETE FROM moderator_notification_rounds"))
        db.session.execute(text(
            "UPDATE pending_client_messages SET is_notified = false, "
            "is_processed = (id % 1000) >= :keep, processed_at = CASE WHEN (id % 1000) >= :keep THEN :now END"),
            {"keep": int(round(waiting_share * 1000)), "now": now})
        db.session.execute(text("UPDATE users SET is_online = (id = ANY(:online)) WHERE role = 'moderator'"),
                           {"online": online})
    vacuum_analyze()


def reset_activity(data: dict, r) -> tuple[int, int]:
    """Every moderator online and in the queue: a third with a live socket, a third with a
    heartbeat a minute ago, a third quiet for 6 minutes. Returns (expected offline, sockets)."""
    from sqlalchemy import text

    from app.database import write_transaction
    from app.extensions import db
    from app.clock import utcnow
    from app.redis_client import names
    from app.services import presence

    now, mods = utcnow(), data["moderators"]
    thirds = [mods[0::3], mods[1::3], mods[2::3]]
    quiet = now - timedelta(minutes=6)
    with write_transaction():
        db.session.execute(text("DELETE FROM moderator_queue"))
        db.session.execute(text(
            "UPDATE users SET is_online = true, last_online_at = :quiet, last_activity_at = :quiet, "
            "last_heartbeat_at = NULL WHERE role = 'moderator'"), {"quiet": quiet})
        db.session.execute(text("UPDATE users SET last_heartbeat_at = :at WHERE id = ANY(:ids)"),
                           {"at": now - timedelta(minutes=1), "ids": thirds[1]})
        db.session.execute(text(
            "INSERT INTO moderator_queue (moderator_id, queued_at, priority) "
            "SELECT id, :quiet, 0 FROM users WHERE role = 'moderator'"), {"quiet": quiet})
    for key in r.scan_iter(names().sockets("*"), count=1000):
        r.delete(key)
    for moderator_id in thirds[0]:
        presence.socket_alive(r, moderator_id, f"bench-{moderator_id}", now)
    vacuum_analyze()
    return len(thirds[2]), len(thirds[0])


# -- phases ------------------------------------------------------------------------------------
def timed(func) -> tuple[float, object, Statements]:
    """One call of a job function in the app context: (ms, its result, its statements)."""
    from app.extensions import db

    with Statements(db.engine) as statements:
        t = time.perf_counter()
        result = func()
        elapsed = (time.perf_counter() - t) * 1000
    return elapsed, result, statements


def empty_queues(r) -> None:
    """The mails and the marking job the passes enqueued: nobody runs them here."""
    from rq import Queue

    for name in ("high", "default"):
        Queue(name, connection=r).empty()


ROUND_NEEDLES = {
    "pending_summary": "min(pending_client_messages.pending_since)",
    "moderators_to_notify": "moderator_round_notifications.moderator_id",
}
MARKING_NEEDLES = {"mark_notified_batch": "UPDATE pending_client_messages SET is_notified"}
ACTIVITY_NEEDLES = {"candidates": "SELECT users.id", "mark_offline": "UPDATE users SET is_online"}


def run_phases(setup: Setup, args, data: dict) -> dict:
    from app.extensions import db
    from app.jobs.presence import calculate_moderator_activity
    from app.jobs.rounds import check_notification_round, mark_round_messages_notified, process_pending_messages
    from app.clock import utcnow
    from app.redis_client import get_redis, names

    phases: dict[str, dict] = {}

    def record(name, ms, result, statements: Statements, extra=None):
        phase = phases.setdefault(name, {"runs_ms": [], "results": []})
        phase["runs_ms"].append(round(ms, 1))
        phase["results"].append(result if not isinstance(result, dict) else
                                {k: v for k, v in result.items()
                                 if k in ("action", "round_number", "pending_count")})
        phase.setdefault("statements", statements.summary())
        if extra:
            phase.update(extra)

    with setup.app.app_context():
        r = get_redis()
        for name, share in (("round_all_waiting", 1.0), ("round_some_waiting", args.waiting_share)):
            for i in range(args.repeats):
                reset_rounds(data, share)
                quiet = wait_for_quiet(args.quiet_wait)
                ms, result, stm = timed(process_pending_messages)
                record(name, ms, result, stm, {"waiting_rows": int(data["pending_rows"] * share)})
                phases[name].setdefault("machine_before_runs", []).append(quiet)
                round_id = result["round_id"]
                ms, marked, marking_stm = timed(lambda: mark_round_messages_notified(round_id))
                record(f"{name}_marking_job", ms, marked, marking_stm,
                       {"batches": sum(1 for sql, _, _ in marking_stm.rows if sql.startswith("UPDATE pending"))})
                empty_queues(r)
                if name == "round_some_waiting":
                    ms, result, later_stm = timed(process_pending_messages)
                    record("pass_cycle_open", ms, result, later_stm)
                    later = (utcnow() + timedelta(minutes=31)).isoformat()
                    ms, result, later_stm = timed(lambda: check_notification_round(later))
                    record("check_due", ms, result, later_stm)
                    empty_queues(r)
                if i == 0:  # the plans of the main statements, on the state each started from
                    reset_rounds(data, share)
                    phases[name]["plans"] = explain_main(db.engine, stm, ROUND_NEEDLES)
                    timed(process_pending_messages)
                    phases[f"{name}_marking_job"]["plans"] = explain_main(db.engine, marking_stm, MARKING_NEEDLES)
                    empty_queues(r)
        for i in range(args.repeats):
            expected, sockets = reset_activity(data, r)
            quiet = wait_for_quiet(args.quiet_wait)
            ms, result, stm = timed(calculate_moderator_activity)
            record("activity", ms, result, stm, {"expected_offline": expected, "with_live_socket": sockets})
            phases["activity"].setdefault("machine_before_runs", []).append(quiet)
            ms, result, later_stm = timed(calculate_moderator_activity)
            record("activity_nothing_to_do", ms, result, later_stm)
            if i == 0:
                reset_activity(data, r)
                phases["activity"]["plans"] = explain_main(db.engine, stm, ACTIVITY_NEEDLES)
        for key in r.scan_iter(names().sockets("*"), count=1000):
            r.delete(key)
        db.session.remove()
    for phase in phases.values():
        phase["median_ms"] = round(statistics.median(phase["runs_ms"]), 1)
        phase["max_ms"] = max(phase["runs_ms"])
    return phases


def main(argv=None) -> int:
    args = parse_args(argv)
    with Setup("services") as setup:
        if setup.database_name is None:
            raise SystemExit("bench/rounds.py measures PostgreSQL: set DATABASE_URL (see the docstring)")
        print(f"rounds: {args.pending} pending rows, {args.moderators} moderators, {args.conversations} conversations, "
              f"{args.repeats} repeats on {setup.describe()['database']}", flush=True)
        setup.prepare()
        data = create_data(setup, args)
        phases = run_phases(setup, args, data)
        description = setup.describe()
    for name, phase in phases.items():
        plans = ", ".join(f"{k}: {'index' if v['index_used'] else 'no index'}" for k, v in phase.get("plans", {}).items())
        print(f"  {name:<34} median {phase['median_ms']:>7.1f} ms  runs {phase['runs_ms']}  "
              f"{phase['results'][0]}" + (f"  [{plans}]" if plans else ""), flush=True)
    key = f"services-P{args.pending}-M{args.moderators}"
    record = {"when": now_iso(), "app_commit": app_version(), "setup": description,
              "pending_rows": data["pending_rows"], "moderators": args.moderators, "conversations": args.conversations,
              "profiles": args.profiles, "profile_holding_in_schema": data["holding"], "repeats": args.repeats,
              "aim_ms": AIM_MS, "machine": machine(), "phases": phases}
    path = write_result("rounds", key, record)
    pp, act = phases["round_some_waiting"], phases["activity"]
    worst, worst_marking = phases["round_all_waiting"], phases["round_all_waiting_marking_job"]
    print(f"SUMMARY rounds {key}: process_pending_messages {pp['median_ms']} ms with {pp['waiting_rows']} of "
          f"{data['pending_rows']} rows waiting, {worst['median_ms']} ms with all {worst['waiting_rows']} waiting "
          f"(then the marking job: {phases['round_some_waiting_marking_job']['median_ms']} ms / "
          f"{worst_marking['median_ms']} ms); calculate_moderator_activity {act['median_ms']} ms ({args.moderators} "
          f"moderators, {act['expected_offline']} marked offline); aim < {AIM_MS:.0f} ms -> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
