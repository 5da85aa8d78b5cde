"""What one client message costs the web process, in-process: SQL statements and CPU time.

A client posts messages to a profile whose conversation a moderator holds, through Flask's
test client (the real view, session, CSRF check, database and Redis; no HTTP server, no
sockets). Every request runs the whole send path: the logged-in user's load, the message, its
pending row, the counters, the two pushes rendered and published.

Two figures per request:

* SQL statements (the database's round trips, BEGIN/COMMIT included on SQLite, where the
  driver sends them as statements; on PostgreSQL psycopg adds a BEGIN and a COMMIT round trip);
* CPU time, back to back and after a pause of ``--gaps`` milliseconds before each request.
  A server taking 50 messages a second is idle between them; on a virtual machine whose idle
  CPUs halt at once, the code then runs from cold caches. Back to back is the floor; the
  figure after a pause is what the server really pays at a moderate rate.

It measures and reports; it never asserts. Median of ``--repeats`` rounds per gap.

    .venv/bin/python bench/request_cost.py
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench REDIS_URL=redis://127.0.0.1:6379/12 \\
      .venv/bin/python bench/request_cost.py --setup services
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_accounting import wait_for_quiet  # noqa: E402
from login import logged_in  # noqa: E402
from project import ROOT, app_version  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import PASSWORD  # noqa: E402

CLIENT = "client@bench.test"
MODERATOR = "moderator@bench.test"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--setup", choices=("embedded", "services"),
                   default="services" if os.environ.get("DATABASE_URL") else "embedded")
    p.add_argument("--requests", type=int, default=300, help="measured requests per gap and round")
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--gaps", default="0,1,5,20", help="pauses before each request, in ms (comma-separated)")
    p.add_argument("--repeats", type=int, default=3, help="rounds per gap (the median is reported)")
    args = p.parse_args(argv)
    try:
        args.gaps = [float(g) for g in args.gaps.split(",")]
    except ValueError:
        p.error("--gaps: numbers separated by commas")
    if not 1 <= args.repeats <= 9 or args.requests < 10:
        p.error("--repeats 1..9, --requests at least 10")
    return args


def set_up_sender(app) -> int:
    """An online moderator in the queue, a client and a profile; returns the profile id."""
    from app.database import write_transaction
    from app.extensions import db
    from app.models import Role
    from app.clock import utcnow
    from app.services import profiles, moderator_queue, users

    with app.app_context():
        with write_transaction():
            moderator = users.create_user(email=MODERATOR, password=PASSWORD,
                                          role=Role.MODERATOR, display_name="Moderator")
            moderator.is_online = True
            db.session.flush()
            moderator_queue.join(moderator.id, utcnow())
            users.create_user(email=CLIENT, password=PASSWORD, role=Role.CLIENT,
                              display_name="Client")
            profile = profiles.create_profile(name="Bench", age=30, city="Paris", bio="Bench profile")
        profile_id = profile.id
        db.session.remove()
    return profile_id


def poster(client, csrf: str, path: str, body: str):
    """A function that posts a new message (a fresh client token each time) as an htmx request,
    and stops the benchmark if it is not answered with 200."""
    def post():
        response = client.post(path, data={"body": body, "client_token": uuid.uuid4().hex},
                               headers={"X-CSRFToken": csrf, "HX-Request": "true"})
        if response.status_code != 200:
            raise SystemExit(f"POST {path} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return post


def main(argv=None) -> int:
    args = parse_args(argv)
    with Setup(args.setup) as setup:
        setup.prepare()
        from sqlalchemy import event

        from app.extensions import db

        profile_id = set_up_sender(setup.app)
        client, csrf = logged_in(setup.app, CLIENT)
        statements, checkouts, pings = [0], [0], [0]
        with setup.app.app_context():
            engine = db.engine

        def count(*_a, **_k):
            statements[0] += 1

        def count_checkout(*_a, **_k):
            checkouts[0] += 1

        # The pool's pre-ping (DB_POOL_PRE_PING) runs below SQLAlchemy's statement events.
        ping = engine.dialect.do_ping

        def counted_ping(dbapi_connection):
            pings[0] += 1
            return ping(dbapi_connection)

        engine.dialect.do_ping = counted_ping

        post = poster(client, csrf, f"/profiles/{profile_id}/messages", "Hello, are you there?")

        for _ in range(args.warmup):
            post()
        event.listen(engine, "before_cursor_execute", count)
        event.listen(engine.pool, "checkout", count_checkout)
        before, checkouts_before, pings_before = statements[0], checkouts[0], pings[0]
        sample = 20
        for _ in range(sample):
            post()
        per_request = (statements[0] - before) / sample
        checkouts_per_request = (checkouts[0] - checkouts_before) / sample
        pings_per_request = (pings[0] - pings_before) / sample
        event.remove(engine.pool, "checkout", count_checkout)
        wait_for_quiet(30.0)
        by_gap = {}
        for gap in args.gaps:
            rounds = []
            for _ in range(args.repeats):
                cpu = []
                for _ in range(args.requests):
                    if gap:
                        time.sleep(gap / 1000)
                    t0 = time.process_time()
                    post()
                    cpu.append((time.process_time() - t0) * 1000)
                rounds.append(statistics.median(cpu))
            by_gap[gap] = {"cpu_ms_median": round(statistics.median(rounds), 3),
                           "rounds": [round(r, 3) for r in rounds]}
            print(f"  pause {gap:g} ms before each request: CPU {by_gap[gap]['cpu_ms_median']} ms/request "
                  f"(rounds {by_gap[gap]['rounds']})")
        event.remove(engine, "before_cursor_execute", count)
        dialect = engine.dialect.name
        record = {
            "when": now_iso(), "version": app_version(), "machine": machine(),
            "setup": setup.describe(), "statements_per_request": per_request,
            "pool_checkouts_per_request": checkouts_per_request, "pre_ping_round_trips_per_request": pings_per_request,
            "pool_pre_ping": bool(engine.pool._pre_ping),
            "psycopg_begin_commit_round_trips": 2 if dialect == "postgresql" else 0,
            "cpu_by_pause_ms": {f"{g:g}": v for g, v in by_gap.items()},
            "requests": args.requests, "repeats": args.repeats,
        }
        path = write_result("request_cost", f"{setup.kind}{'-pre_ping' if engine.pool._pre_ping else ''}", record)
        first, last = by_gap[args.gaps[0]]["cpu_ms_median"], by_gap[args.gaps[-1]]["cpu_ms_median"]
        print(f"SUMMARY request_cost {setup.kind}: {per_request:g} SQL statements per client message"
              f"{' (+ BEGIN/COMMIT round trips)' if dialect == 'postgresql' else ''}, {checkouts_per_request:g} pool "
              f"checkout(s), {pings_per_request:g} pre-ping round trip(s); CPU {first} ms back to back, "
              f"{last} ms after a {args.gaps[-1]:g} ms pause -> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
