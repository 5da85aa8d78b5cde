"""Assignment engine on PostgreSQL: decision time, a rebalance pass, the inactivity scan.

In-process, through the engine's entry points only, inside the app context and
``write_transaction`` as production calls them:

* decisions: M online moderators in the queue, C waiting unassigned conversations (a pending
  client message each); every conversation gets ``assign_if_unassigned(id, now)`` in its own
  write transaction, oldest waiting first. One decision = that transaction, commit included
  (the call and the commit are also reported apart). Loads grow from 0 to C/M during the phase,
  so the figures are also given by fifth of the run;
* orphan sweep: ``assign_orphans(now, 200)`` in one transaction, as the periodic job runs it;
* rebalance: the same conversations assigned unevenly (a tenth of the moderators hold three
  times the others' share), then one ``balancing.rebalance(now, threshold, cooldown,
  max_moves)`` pass in one transaction, as the job runs it (its defaults: 2, 300 s, 500 moves);
* inactivity: conversations spread evenly, some moderators idle for 5 minutes (the rest active);
  ``inactivity.idle_waiting_conversations(now, 60)`` (the scan, read-only, run several times)
  and the whole ``reassign_from_idle_moderators(now, 60)`` pass in one transaction.

Before each phase the rows are reset with bulk SQL (profile holders and queue load counters
kept consistent when the schema has them), then ``VACUUM ANALYZE``, and the run waits (bounded)
for other programs to leave the CPUs idle. Planner statistics for the decisions are those of a
running system (taken with every conversation held; ``--stats reset``: taken with none held, as
in a fresh database), and during the decisions the tables get a VACUUM ANALYZE every 1,050
decisions (autovacuum's analyze threshold for 10,000 rows), outside the timings, standing in for
autovacuum (``--upkeep-every 0``: never). Every phase is repeated (--repeats); the summary
gives the median of the repeats and their spread. Each SQL statement is timed through
SQLAlchemy's cursor events (cheap next to a round trip) to show where a pass spends its time; the
slowest SELECTs are run again under EXPLAIN ANALYZE (printed when an aim is missed). The script
measures and reports; it never asserts.

The set-up drops the database's schema (like the other benchmarks' ``services`` set-up); it
waits while another session uses that database, so give it a database of its own.

    createdb -h 127.0.0.1 -U postgres switchboard_bench
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
      .venv/bin/python bench/assignment.py --moderators 500 --conversations 10000
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_accounting import machine_busy_seconds, own_cpu, wait_for_quiet  # noqa: E402
from percentiles import latency_summary  # noqa: E402
from project import ROOT, app_version  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import create_profiles, create_users  # noqa: E402
from sql_diagnostics import TimedStatements, explain, short_sql  # noqa: E402

AIMS_MS = {"decision_p99": 10.0, "rebalance": 500.0, "inactivity_scan": 100.0}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--moderators", type=int, default=500)
    p.add_argument("--conversations", type=int, default=10_000)
    p.add_argument("--profiles", type=int, default=2000,
                   help="profiles the conversations are spread over (as many as conversations: one each)")
    p.add_argument("--repeats", type=int, default=3, help="times each phase is measured")
    p.add_argument("--idle-moderators", type=int, default=50,
                   help="moderators idle for 5 minutes in the inactivity phase (their waiting work moves)")
    p.add_argument("--idle-seconds", type=int, default=60, help="inactivity threshold (INACTIVITY_SECONDS)")
    p.add_argument("--threshold", type=int, default=2, help="rebalance: load spread that triggers moves")
    p.add_argument("--cooldown", type=int, default=300, help="rebalance: seconds a moved conversation stays put")
    p.add_argument("--max-moves", type=int, default=500,
                   help="rebalance: moves per pass at most (entries of its result: conversations moved)")
    p.add_argument("--orphan-limit", type=int, default=200, help="assign_orphans batch (the periodic job's default)")
    p.add_argument("--scans", type=int, default=5, help="inactivity scans per repeat")
    p.add_argument("--quiet-wait", type=float, default=30.0,
                   help="wait at most this long before each phase for other programs to leave the CPUs idle")
    p.add_argument("--busy-threshold", type=float, default=0.3,
                   help="CPU cores other programs may use for the machine to count as quiet")
    p.add_argument("--upkeep-every", type=int, default=None, metavar="DECISIONS",
                   help="VACUUM ANALYZE the engine's tables every so many decisions, outside the timings, standing in "
                        "for autovacuum (default: its analyze threshold, 50 + 10%% of the conversations); 0: never "
                        "(statistics and dead rows pile up as with autovacuum off)")
    p.add_argument("--stats", choices=("running", "reset"), default="running",
                   help="planner statistics at the start of the decisions: 'running' = taken with every conversation "
                        "held (a running system, where conversations keep their holder); 'reset' = taken with "
                        "none held (a fresh database)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    if args.moderators < 2 or args.conversations < 1 or args.profiles < 1 or args.repeats < 1:
        p.error("at least 2 moderators, 1 conversation, 1 profile, 1 repeat")
    if args.upkeep_every is None:
        args.upkeep_every = 50 + args.conversations // 10
    if not 0 <= args.idle_moderators < args.moderators:
        p.error("--idle-moderators must leave at least one active moderator")
    return args


# -- statement timing -----------------------------------------------------------------------
class StatementLog(TimedStatements):
    """Times every SQL statement run on ``engine`` while active; optionally keeps them (with
    their parameters) for EXPLAIN ANALYZE afterwards."""

    def __init__(self, engine):
        super().__init__(engine)
        self.stats: dict[str, list] = {}
        self.capturing = False
        self.captured: list[tuple[str, object, float]] = []

    def reset(self):
        self.stats = {}

    def record(self, statement, parameters, elapsed):
        if statement.startswith(("ANALYZE", "VACUUM")):  # the benchmark's own upkeep
            return
        s = self.stats.setdefault(statement, [0, 0.0, 0.0])
        s[0] += 1
        s[1] += elapsed
        s[2] = max(s[2], elapsed)
        if self.capturing:
            self.captured.append((statement, parameters, elapsed))

    def summary(self, top: int = 6) -> dict:
        total = sum(s[1] for s in self.stats.values())
        rows = sorted(self.stats.items(), key=lambda kv: -kv[1][1])[:top]
        return {"statements": sum(s[0] for s in self.stats.values()), "db_round_trip_ms": round(total * 1000, 1),
                "top": [{"sql": short_sql(sql), "calls": n, "total_ms": round(t * 1000, 1),
                         "mean_ms": round(t * 1000 / n, 3), "max_ms": round(mx * 1000, 2)}
                        for sql, (n, t, mx) in rows]}


def explain_slowest_selects(engine, captured, count: int = 2) -> list[dict]:
    selects = [(s, p, t) for s, p, t in captured
               if s.lstrip().upper().startswith("SELECT") and "pg_advisory" not in s]
    seen, out = set(), []
    for statement, parameters, elapsed in sorted(selects, key=lambda x: -x[2]):
        if statement in seen:
            continue
        seen.add(statement)
        out.append({"sql": short_sql(statement, 2000), "parameters": repr(parameters)[:500],
                    "measured_ms": round(elapsed * 1000, 3), "plan": explain(engine, statement, parameters)})
        if len(out) == count:
            break
    return out


# -- data -----------------------------------------------------------------------------------
class Data:
    def __init__(self, moderators: list[int], profiles: list[int], conversations: list[int],
                 conversation_profile: dict[int, int], holding: bool, load_counter: bool):
        self.moderators = moderators
        self.profiles = profiles
        self.conversations = conversations  # ids, oldest waiting first
        self.conversation_profile = conversation_profile
        # The first conversation of each profile in waiting order: with profile holding, its
        # decision is a least-loaded pick; the profile's later ones follow its holder.
        seen: set[int] = set()
        self.first_of_profile = {c for c in conversations
                                 if conversation_profile[c] not in seen and not seen.add(conversation_profile[c])}
        self.holding = holding  # the schema has profile_assignments (a profile's conversations follow one moderator)
        self.load_counter = load_counter  # the queue keeps each moderator's load in a column


def profile_sequence(n: int, profiles: int, seed: int) -> list[int]:
    """The profile (index) of each of ``n`` conversations in waiting order: n/profiles each; a
    profile's first conversation comes at evenly spaced positions through the run, its others at
    random later on. So decisions for a profile nobody holds yet happen all along the run, against
    loads that grow like the others'."""
    rng = random.Random(seed)
    caps = [n // profiles + (1 if p < n % profiles else 0) for p in range(profiles)]
    new_at = [j * n // profiles for j in range(profiles)]
    seq: list[int] = []
    pool: list[int] = []
    nxt = 0
    for i in range(n):
        if nxt < profiles and (i >= new_at[nxt] or not pool):
            seq.append(nxt)
            pool.extend([nxt] * (caps[nxt] - 1))
            nxt += 1
        else:
            j = rng.randrange(len(pool))
            pool[j], pool[-1] = pool[-1], pool[j]
            seq.append(pool.pop())
    return seq


def create_data(setup: Setup, args) -> Data:
    from sqlalchemy import insert, inspect, select, text

    from app.database import write_transaction
    from app.extensions import db
    from app.models import Conversation, Message, QueueEntry
    from app.clock import utcnow
    from app.models.chat import Sender

    t = time.monotonic()
    mods = create_users(setup, "moderator", args.moderators, "bench-mod")
    clients = create_users(setup, "client", args.conversations, "bench-client")
    profiles = create_profiles(setup, min(args.profiles, args.conversations))
    sequence = profile_sequence(len(clients), len(profiles), args.seed)
    now = utcnow()
    with setup.app.app_context():
        with write_transaction():
            # Online, in the queue, joined one millisecond apart (queue order = id order).
            db.session.execute(text("UPDATE users SET is_online = true, last_online_at = :at, last_activity_at = :at "
                                    "WHERE id = ANY(:ids)"), {"at": now - timedelta(hours=1), "ids": mods})
            db.session.execute(insert(QueueEntry), [
                {"moderator_id": m, "queued_at": now - timedelta(hours=1) + timedelta(milliseconds=i), "priority": 0}
                for i, m in enumerate(mods)])
            rows = []
            for i, (client, p) in enumerate(zip(clients, sequence)):
                waiting_since = now - timedelta(minutes=20) + timedelta(milliseconds=i)
                rows.append({"client_id": client, "profile_id": profiles[p],
                             "awaiting_reply_since": waiting_since, "pending_count": 1,
                             "last_message_at": waiting_since, "last_client_message_at": waiting_since,
                             "created_at": waiting_since})
            for start in range(0, len(rows), 1000):
                db.session.execute(insert(Conversation), rows[start:start + 1000])
        by_client = dict(db.session.execute(select(Conversation.client_id, Conversation.id)).all())
        conversations = [by_client[c] for c in clients]
        with write_transaction():
            msgs = [{"conversation_id": cid, "sender": Sender.CLIENT, "author_id": client, "body": "Bonjour !",
                     "client_token": f"bench-{cid}", "created_at": r["created_at"]}
                    for cid, client, r in zip(conversations, clients, rows)]
            for start in range(0, len(msgs), 1000):
                db.session.execute(insert(Message), msgs[start:start + 1000])
        schema = inspect(db.engine)
        holding = schema.has_table("profile_assignments")
        load_counter = "load" in {c["name"] for c in schema.get_columns("moderator_queue")}
        db.session.remove()
    data = Data(mods, profiles, conversations, {cid: r["profile_id"] for cid, r in zip(conversations, rows)}, holding,
                load_counter)
    print(f"  data: {len(mods)} moderators online in the queue, {len(profiles)} profiles, {len(clients)} clients, "
          f"{len(conversations)} waiting conversations with a pending message ({time.monotonic() - t:.1f} s); "
          f"profile holding {'in' if holding else 'not in'} the schema, load counter {'in' if load_counter else 'not in'} "
          f"the queue", flush=True)
    return data


def vacuum_analyze(data: Data, command: str = "VACUUM ANALYZE") -> None:
    from sqlalchemy import text

    from app.extensions import db

    db.session.remove()
    tables = ["conversations", "users", "moderator_queue", "assignment_changes", "assignment_conflicts",
              "client_locks", "profile_locks"] + (["profile_assignments"] if data.holding else [])
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.execute(text(f"{command} {table}"))


def reset(data: Data, now: datetime, assignment: dict[int, int] | None, idle: set[int] = frozenset(),
          upkeep: str = "VACUUM ANALYZE") -> None:
    """Every conversation waiting since before ``now``; held per ``assignment`` ({conversation:
    moderator}; None: by nobody), assigned 10 minutes ago and never moved, with the matching
    profile holders and queue load counters when the schema has them; moderators active a second
    ago except ``idle`` (5 minutes ago); no history, conflicts or locks. Then ``upkeep``."""
    from sqlalchemy import text

    from app.database import write_transaction
    from app.extensions import db

    at = now - timedelta(minutes=10)
    with write_transaction():
        for table in ("assignment_changes", "assignment_conflicts", "client_locks", "profile_locks"):
            db.session.execute(text(f"DELETE FROM {table}"))
        db.session.execute(text("UPDATE conversations SET assigned_moderator_id = NULL, assigned_at = NULL, "
                                "last_moved_at = NULL"))
        if data.holding:
            db.session.execute(text("DELETE FROM profile_assignments"))
        if assignment is not None:
            if data.holding:
                holders = {data.conversation_profile[c]: m for c, m in assignment.items()}
                pids = list(holders)
                db.session.execute(text(
                    "INSERT INTO profile_assignments (profile_id, moderator_id, assigned_at) SELECT v.pid, v.mid, :at "
                    "FROM unnest(CAST(:pids AS integer[]), CAST(:mids AS integer[])) AS v(pid, mid)"),
                    {"pids": pids, "mids": [holders[p] for p in pids], "at": at})
            ids = list(assignment)
            db.session.execute(text(
                "UPDATE conversations c SET assigned_moderator_id = v.mid, assigned_at = :at "
                "FROM unnest(CAST(:ids AS integer[]), CAST(:mids AS integer[])) AS v(id, mid) WHERE c.id = v.id"),
                {"ids": ids, "mids": [assignment[i] for i in ids], "at": at})
        if data.load_counter:  # exact active loads, as the queue keeps them
            db.session.execute(text(
                "UPDATE moderator_queue q SET load = (SELECT count(*) FROM conversations c "
                "WHERE c.assigned_moderator_id = q.moderator_id "
                "AND (c.awaiting_reply_since IS NOT NULL OR c.last_message_at >= :since))"),
                {"since": now - timedelta(minutes=30)})
        active = [m for m in data.moderators if m not in idle]
        db.session.execute(text("UPDATE users SET last_activity_at = :at WHERE id = ANY(:ids)"),
                           {"at": now - timedelta(seconds=1), "ids": active})
        if idle:
            db.session.execute(text("UPDATE users SET last_activity_at = :at WHERE id = ANY(:ids)"),
                               {"at": now - timedelta(minutes=5), "ids": list(idle)})
    vacuum_analyze(data, upkeep)


def spread_units(data: Data, weights: list[int], seed: int) -> dict[int, int]:
    """{conversation: moderator}: profiles (with profile holding; conversations otherwise) shared
    out in proportion to the moderators' weights."""
    key = (lambda c: data.conversation_profile[c]) if data.holding else (lambda c: c)
    pieces = list(dict.fromkeys(key(c) for c in data.conversations))
    random.Random(seed).shuffle(pieces)
    total_w, n = sum(weights), len(pieces)
    counts = [n * w // total_w for w in weights]
    for i in range(n - sum(counts)):  # the remainder goes to the last ones, one each
        counts[len(counts) - 1 - i % len(counts)] += 1
    owner = dict(zip(pieces, [m for m, c in zip(data.moderators, counts) for _ in range(c)]))
    return {c: owner[key(c)] for c in data.conversations}


def uneven_assignment(data: Data, seed: int) -> dict[int, int]:
    """A tenth of the moderators hold three times the share of the others."""
    busy = max(1, len(data.moderators) // 10)
    return spread_units(data, [3 if i < busy else 1 for i in range(len(data.moderators))], seed)


def even_assignment(data: Data, seed: int) -> dict[int, int]:
    return spread_units(data, [1] * len(data.moderators), seed)


def load_spread() -> dict:
    from sqlalchemy import text

    from app.extensions import db

    rows = db.session.execute(text(
        "SELECT u.id, count(c.id) FROM users u LEFT JOIN conversations c ON c.assigned_moderator_id = u.id "
        "WHERE u.role = 'moderator' GROUP BY u.id")).all()
    unassigned = db.session.scalar(text("SELECT count(*) FROM conversations WHERE assigned_moderator_id IS NULL"))
    db.session.rollback()
    loads = [n for _, n in rows]
    return {"min": min(loads, default=0), "max": max(loads, default=0), "unassigned": unassigned}


# -- CPU accounting -------------------------------------------------------------------------
class Cpu:
    """CPU used during a phase: this process, the PostgreSQL backends of our database (and
    Redis), and everything else on the machine (other people's programs)."""

    def __init__(self, setup: Setup):
        self.setup = setup

    def __enter__(self):
        self.services = self.setup.services_meter().start()
        self.t0 = time.perf_counter()
        self.own0, self.busy0 = own_cpu(), machine_busy_seconds()
        return self

    def __exit__(self, *exc):
        elapsed = time.perf_counter() - self.t0
        own = own_cpu() - self.own0
        busy = machine_busy_seconds() - self.busy0
        ours = self.services.stop()
        services = ours["cpu_s"]
        self.result = {"elapsed_s": round(elapsed, 3), "bench_process_cpu_s": round(own, 3),
                       "postgres_backends_cpu_s": ours["postgres_backends_cpu_s"],
                       "database_and_redis": ours,
                       "other_programs_cpu_cores": round(max(0.0, busy - own - services) / max(elapsed, 1e-9), 2)}


def quiet(args) -> dict:
    return wait_for_quiet(args.quiet_wait, args.busy_threshold)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# -- phases ---------------------------------------------------------------------------------
def phase_decisions(args, setup, data: Data, log: StatementLog, first: bool) -> dict:
    from app.database import write_transaction
    from app.extensions import db
    from app.clock import utcnow
    from app.services import assignment

    if args.stats == "running":
        reset(data, utcnow(), even_assignment(data, args.seed))  # statistics of a running system...
        reset(data, utcnow(), None, upkeep="VACUUM")  # ...kept while the rows go back to waiting for a decision
    else:
        reset(data, utcnow(), None)
    q = quiet(args)
    n = len(data.conversations)
    total, call, commit = [], [], []
    unassigned = 0
    # Statements kept for EXPLAIN: the last decision for a profile nobody held yet (the
    # least-loaded pick) and the very last decision.
    firsts = [k for k, cid in enumerate(data.conversations) if cid in data.first_of_profile]
    capture_at = {n - 1} | ({firsts[-1]} if firsts else set())
    log.reset()
    gc.collect()
    analyses, analyze_s = 0, 0.0
    with Cpu(setup) as cpu:
        start = time.perf_counter()
        for k, cid in enumerate(data.conversations):
            if args.upkeep_every and k and k % args.upkeep_every == 0:
                # What autovacuum would have done by now (this server may have it off): fresh
                # statistics, dead rows (the queue's load counter is updated at every decision)
                # cleared. Not part of any decision's time.
                a0 = time.perf_counter()
                log.capturing = False
                vacuum_analyze(data)
                analyses += 1
                analyze_s += time.perf_counter() - a0
            log.capturing = first and k in capture_at
            t0 = time.perf_counter()
            with write_transaction():
                t1 = time.perf_counter()
                moderator = assignment.assign_if_unassigned(cid, utcnow())
                t2 = time.perf_counter()
            t3 = time.perf_counter()
            total.append((t3 - t0) * 1000)
            call.append((t2 - t1) * 1000)
            commit.append((t3 - t2) * 1000)
            if moderator is None:
                unassigned += 1
        elapsed = time.perf_counter() - start - analyze_s
    log.capturing = False
    statements = log.summary()
    spread = load_spread()
    first_of_profile = [t for t, cid in zip(total, data.conversations) if cid in data.first_of_profile]
    later = [t for t, cid in zip(total, data.conversations) if cid not in data.first_of_profile]
    fifth = max(1, n // 5)
    by_fifth = [{"decisions": f"{i * fifth + 1}-{min(n, (i + 1) * fifth)}",
                 **{k: v for k, v in latency_summary(total[i * fifth:(i + 1) * fifth]).items()
                    if k in ("p50_ms", "p99_ms", "max_ms")}} for i in range(5) if i * fifth < n]
    result = {"decision": latency_summary(total), "decision_call_only": latency_summary(call),
              "decision_commit_only": latency_summary(commit), "by_fifth": by_fifth,
              # With profile holding, a profile's first conversation is a least-loaded pick and
              # its later ones follow the holder: two kinds of decision.
              "decision_first_of_profile": latency_summary(first_of_profile),
              "decision_profile_seen_before": latency_summary(later),
              "total_s": round(elapsed, 3), "decisions": n, "not_assigned": unassigned, "loads_after": spread,
              "upkeep_runs_between_decisions": analyses, "upkeep_every": args.upkeep_every,
              "statistics_at_start": args.stats,
              "statements": statements, "cpu": cpu.result, "quiet_before": q}
    if first:
        result["explain"] = explain_slowest_selects(db.engine, log.captured, 3)
        log.captured = []
    d = result["decision"]
    print(f"  decisions: p50 {d['p50_ms']} p95 {d['p95_ms']} p99 {d['p99_ms']} max {d['max_ms']} ms "
          f"(call p50 {result['decision_call_only']['p50_ms']}, commit p50 {result['decision_commit_only']['p50_ms']}); "
          f"{n} in {elapsed:.2f} s ({analyses} VACUUM ANALYZE between them, not counted); loads after {spread['min']}..{spread['max']}, not assigned {unassigned}; "
          f"other programs {cpu.result['other_programs_cpu_cores']} cores", flush=True)
    print("    by fifth (p50/p99 ms): " + ", ".join(f"{b['p50_ms']}/{b['p99_ms']}" for b in by_fifth), flush=True)
    f, l_ = result["decision_first_of_profile"], result["decision_profile_seen_before"]
    print(f"    first conversation of its profile ({f['count']}): p50 {f['p50_ms']} p99 {f['p99_ms']} ms; "
          f"profile seen before ({l_['count']}): p50 {l_['p50_ms']} p99 {l_['p99_ms']} ms", flush=True)
    return result


def phase_orphans(args, setup, data: Data, log: StatementLog) -> dict:
    from app.database import write_transaction
    from app.clock import utcnow
    from app.services import assignment

    reset(data, utcnow(), None)
    q = quiet(args)
    log.reset()
    gc.collect()
    with Cpu(setup) as cpu:
        t0 = time.perf_counter()
        with write_transaction():
            assigned = assignment.assign_orphans(utcnow(), args.orphan_limit)
        elapsed = time.perf_counter() - t0
    result = {"time_ms": ms(elapsed), "assigned": len(assigned), "limit": args.orphan_limit,
              "per_assignment_ms": round(elapsed * 1000 / max(1, len(assigned)), 3),
              "statements": log.summary(), "cpu": cpu.result, "quiet_before": q}
    print(f"  orphan sweep: assign_orphans(limit={args.orphan_limit}) {result['time_ms']} ms, "
          f"{len(assigned)} assigned ({result['per_assignment_ms']} ms each)", flush=True)
    return result


def phase_rebalance(args, setup, data: Data, log: StatementLog, first: bool) -> dict:
    from app.database import write_transaction
    from app.extensions import db
    from app.clock import utcnow
    from app.services import balancing

    base = utcnow()
    reset(data, base, uneven_assignment(data, args.seed))
    before = load_spread()
    q = quiet(args)
    now = utcnow()
    log.reset()
    log.capturing = first
    gc.collect()
    with Cpu(setup) as cpu:
        t0 = time.perf_counter()
        with write_transaction():
            t1 = time.perf_counter()
            result_ = balancing.rebalance(now, args.threshold, args.cooldown, args.max_moves)
            t2 = time.perf_counter()
        t3 = time.perf_counter()
    log.capturing = False
    statements = log.summary()
    moves = len(result_.moves)
    profiles_moved = len({data.conversation_profile.get(m[0]) for m in result_.moves})
    after = load_spread()
    result = {"time_ms": ms(t3 - t0), "pass_only_ms": ms(t2 - t1), "commit_ms": ms(t3 - t2), "moves": moves,
              "profiles_moved": profiles_moved if data.holding else None,
              "per_move_ms": round((t3 - t0) * 1000 / max(1, moves), 3), "max_moves": args.max_moves,
              "threshold": args.threshold, "cooldown_s": args.cooldown, "loads_before": before, "loads_after": after,
              "statements": statements, "cpu": cpu.result, "quiet_before": q}
    if first:
        result["explain"] = explain_slowest_selects(db.engine, log.captured, 3)
        log.captured = []
    print(f"  rebalance: {result['time_ms']} ms for {moves} moves"
          f"{' (' + str(profiles_moved) + ' profiles)' if data.holding else ''} ({result['per_move_ms']} ms/move; "
          f"loads {before['min']}..{before['max']} -> {after['min']}..{after['max']}; "
          f"{result['statements']['statements']} statements); other programs {cpu.result['other_programs_cpu_cores']} cores",
          flush=True)
    return result


def phase_inactivity(args, setup, data: Data, log: StatementLog, first: bool) -> dict:
    from app.database import write_transaction
    from app.extensions import db
    from app.clock import utcnow
    from app.services import inactivity

    base = utcnow()
    step = len(data.moderators) // max(1, args.idle_moderators) if args.idle_moderators else 0
    idle = {data.moderators[i * step] for i in range(args.idle_moderators)} if step else set()
    reset(data, base, even_assignment(data, args.seed), idle)
    q = quiet(args)
    now = base + timedelta(seconds=1)  # one instant for the phase: active moderators stay active
    scans, found = [], 0
    log.reset()
    gc.collect()
    with Cpu(setup) as scan_cpu:
        for i in range(args.scans):
            log.capturing = first and i == args.scans - 1
            t0 = time.perf_counter()
            rows = inactivity.idle_waiting_conversations(now, args.idle_seconds)
            scans.append((time.perf_counter() - t0) * 1000)
            db.session.rollback()
            found = len(rows)
    log.capturing = False
    scan_explain = explain_slowest_selects(db.engine, log.captured, 1) if first else None
    log.captured = []
    scan_statements = log.summary()
    q2 = quiet(args)
    log.reset()
    gc.collect()
    with Cpu(setup) as cpu:
        t0 = time.perf_counter()
        with write_transaction():
            moves = inactivity.reassign_from_idle_moderators(now, args.idle_seconds)
        elapsed = time.perf_counter() - t0
    reassign_statements = log.summary()
    moved = sum(len(v) for v in moves.taken.values())
    profiles_moved = len({data.conversation_profile.get(c) for v in moves.taken.values() for c, _ in v})
    result = {"scan_ms": [round(s, 2) for s in scans], "scan_median_ms": round(statistics.median(scans), 2),
              "scan_first_ms": round(scans[0], 2), "idle_waiting_found": found, "idle_moderators": len(idle),
              "scan_statements": scan_statements, "scan_cpu": scan_cpu.result, "quiet_before_scan": q,
              "reassign_pass_ms": ms(elapsed), "moved": moved, "receivers": len(moves.receivers),
              "profiles_moved": profiles_moved if data.holding else None,
              "per_move_ms": round(elapsed * 1000 / max(1, moved), 3), "loads_after": load_spread(),
              "reassign_statements": reassign_statements, "reassign_cpu": cpu.result, "quiet_before_reassign": q2}
    if first:
        result["scan_explain"] = scan_explain
    print(f"  inactivity: scan {result['scan_median_ms']} ms median of {len(scans)} (first {result['scan_first_ms']}), "
          f"{found} conversations of {len(idle)} idle moderators; reassign pass {result['reassign_pass_ms']} ms, "
          f"{moved} moved{' (' + str(profiles_moved) + ' profiles)' if data.holding else ''} "
          f"({result['per_move_ms']} ms/move) to {len(moves.receivers)} moderators", flush=True)
    return result


# -- summary --------------------------------------------------------------------------------
def spread(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2), "max": round(max(values), 2),
            "runs": [round(v, 2) for v in values]}


def summarize(repeats: list[dict]) -> dict:
    dec = [r["decisions"]["decision"] for r in repeats]
    return {
        "decision_p50_ms": spread([d["p50_ms"] for d in dec]),
        "decision_p95_ms": spread([d["p95_ms"] for d in dec]),
        "decision_p99_ms": spread([d["p99_ms"] for d in dec]),
        "decision_max_ms": spread([d["max_ms"] for d in dec]),
        "decisions_total_s": spread([r["decisions"]["total_s"] for r in repeats]),
        "orphan_sweep_ms": spread([r["orphans"]["time_ms"] for r in repeats]),
        "rebalance_ms": spread([r["rebalance"]["time_ms"] for r in repeats]),
        "rebalance_moves": spread([r["rebalance"]["moves"] for r in repeats]),
        "rebalance_profiles_moved": spread([r["rebalance"]["profiles_moved"] or 0 for r in repeats]),
        "inactivity_scan_ms": spread([r["inactivity"]["scan_median_ms"] for r in repeats]),
        "reassign_pass_ms": spread([r["inactivity"]["reassign_pass_ms"] for r in repeats]),
        "reassign_moves": spread([r["inactivity"]["moved"] for r in repeats]),
        "other_programs_cpu_cores_max": max(
            max(r["decisions"]["cpu"]["other_programs_cpu_cores"], r["rebalance"]["cpu"]["other_programs_cpu_cores"],
                r["inactivity"]["scan_cpu"]["other_programs_cpu_cores"],
                r["inactivity"]["reassign_cpu"]["other_programs_cpu_cores"]) for r in repeats),
    }


def print_plans(title: str, plans: list[dict] | None) -> None:
    for p in plans or []:
        print(f"  EXPLAIN ANALYZE ({title}; measured {p['measured_ms']} ms in the run):\n    {p['sql']}")
        print("    params " + p["parameters"])
        for line in p["plan"]:
            print("      " + line)


def wait_for_database_free(url: str, max_wait: float = 300.0) -> None:
    """The set-up drops the database's schema: never while another program uses that database
    (another benchmark would lose its tables, and this one its own)."""
    import psycopg

    deadline = time.monotonic() + max_wait
    while True:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            others = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND pid <> pg_backend_pid()").fetchone()[0]
        if not others:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"{others} other session(s) still use this database after {max_wait:.0f} s: "
                             "not dropping their schema; use a database of its own (DATABASE_URL)")
        print(f"  waiting: {others} other session(s) use this database", flush=True)
        time.sleep(10)


def engine_fingerprint() -> dict:
    """What was measured, when the working tree differs from the commit: a hash of each engine file."""
    import hashlib

    files = sorted((ROOT / "app" / "services").glob("*.py")) + sorted((ROOT / "app" / "models").glob("*.py"))
    out = {str(f.relative_to(ROOT)): hashlib.sha1(f.read_bytes()).hexdigest()[:12] for f in files
           if f.stem in ("assignment", "balancing", "inactivity", "queue", "locks", "chat")}
    out["migrations"] = sorted(f.stem.split("_")[0] for f in (ROOT / "migrations" / "versions").glob("*.py"))
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        raise SystemExit("bench/assignment.py measures PostgreSQL: set DATABASE_URL=postgresql://… and REDIS_URL")
    print(f"assignment: moderators={args.moderators} conversations={args.conversations} profiles={args.profiles} "
          f"repeats={args.repeats} statistics={args.stats}", flush=True)
    app_commit, fingerprint = app_version(), engine_fingerprint()  # before the run: the code it imports
    wait_for_database_free(os.environ["DATABASE_URL"])
    with Setup("services") as setup:
        setup.prepare()
        data = create_data(setup, args)
        from sqlalchemy import text

        from app.extensions import db

        repeats = []
        with setup.app.app_context():
            server_settings = {name: db.session.scalar(text(f"SHOW {name}"))
                               for name in ("server_version", "shared_buffers", "work_mem", "synchronous_commit",
                                            "jit")}
            db.session.rollback()
            with StatementLog(db.engine) as log:
                for r in range(args.repeats):
                    print(f" repeat {r + 1}/{args.repeats}", flush=True)
                    first = r == 0
                    repeats.append({
                        "decisions": phase_decisions(args, setup, data, log, first),
                        "orphans": phase_orphans(args, setup, data, log),
                        "rebalance": phase_rebalance(args, setup, data, log, first),
                        "inactivity": phase_inactivity(args, setup, data, log, first),
                    })
            db.session.remove()
        setup_desc = setup.describe()

    summary = summarize(repeats)
    aims = {"decision_p99_under_10ms": summary["decision_p99_ms"]["median"] < AIMS_MS["decision_p99"],
            "rebalance_under_500ms": summary["rebalance_ms"]["median"] < AIMS_MS["rebalance"],
            "inactivity_scan_under_100ms": summary["inactivity_scan_ms"]["median"] < AIMS_MS["inactivity_scan"]}
    first = repeats[0]
    if not aims["decision_p99_under_10ms"]:
        print_plans("decision, slowest SELECTs of the last decision", first["decisions"].get("explain"))
    if not aims["rebalance_under_500ms"]:
        print_plans("rebalance, slowest SELECTs", first["rebalance"].get("explain"))
    if not aims["inactivity_scan_under_100ms"]:
        print_plans("inactivity scan", first["inactivity"].get("scan_explain"))

    key = f"services-M{args.moderators}-C{args.conversations}-P{args.profiles}" + ("" if args.stats == "running" else "-stats_reset")
    record = {"when": now_iso(), "app_commit": app_commit, "engine_files": fingerprint, "setup": setup_desc,
              "postgresql": server_settings, "machine": machine(), "args": vars(args),
              "aims_ms": AIMS_MS, "aims_met": aims, "summary": summary, "repeats": repeats}
    path = write_result("assignment", key, record)
    s = summary
    busy = s["other_programs_cpu_cores_max"]
    print(f"  medians of {args.repeats} (min..max): decision p50 {s['decision_p50_ms']['median']} "
          f"({s['decision_p50_ms']['min']}..{s['decision_p50_ms']['max']}) p95 {s['decision_p95_ms']['median']} "
          f"p99 {s['decision_p99_ms']['median']} ({s['decision_p99_ms']['min']}..{s['decision_p99_ms']['max']}) ms; "
          f"rebalance {s['rebalance_ms']['median']} ({s['rebalance_ms']['min']}..{s['rebalance_ms']['max']}) ms; "
          f"scan {s['inactivity_scan_ms']['median']} ({s['inactivity_scan_ms']['min']}..{s['inactivity_scan_ms']['max']}) ms; "
          f"reassign pass {s['reassign_pass_ms']['median']} ({s['reassign_pass_ms']['min']}..{s['reassign_pass_ms']['max']}) ms")
    print(f"SUMMARY assignment {key}: decision p50 {s['decision_p50_ms']['median']} ms, "
          f"p95 {s['decision_p95_ms']['median']} ms, p99 {s['decision_p99_ms']['median']} ms "
          f"(aim < 10: {'met' if aims['decision_p99_under_10ms'] else 'MISSED'}), "
          f"{args.conversations} decisions in {s['decisions_total_s']['median']} s; "
          f"rebalance {s['rebalance_ms']['median']} ms for {s['rebalance_moves']['median']:g} moves"
          f"{' (' + format(s['rebalance_profiles_moved']['median'], 'g') + ' profiles)' if s['rebalance_profiles_moved']['median'] else ''} "
          f"(aim < 500: {'met' if aims['rebalance_under_500ms'] else 'MISSED'}); "
          f"inactivity scan {s['inactivity_scan_ms']['median']} ms "
          f"(aim < 100: {'met' if aims['inactivity_scan_under_100ms'] else 'MISSED'}), "
          f"reassign pass {s['reassign_pass_ms']['median']} ms for {s['reassign_moves']['median']:g} moves; "
          f"median of {args.repeats}"
          f"{'; OTHER PROGRAMS LOADED THE CPUS: up to ' + str(busy) + ' cores' if busy > args.busy_threshold else ''}"
          f" -> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
