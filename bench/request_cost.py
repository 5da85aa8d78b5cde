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
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402


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
            moderator = users.create_user(email="moderator@bench.test", password=common.PASSWORD,
                                          role=Role.MODERATOR, display_name="Moderator")
            moderator.is_online = True
            db.session.flush()
            moderator_queue.join(moderator.id, utcnow())
            users.create_user(email="client@bench.test", password=common.PASSWORD, role=Role.CLIENT,
                              display_name="Client")
            profile = profiles.create_profile(name="Bench", age=30, city="Paris", bio="Bench profile")
        profile_id = profile.id
        db.session.remove()
    return profile_id


def logged_in_client(app):
    """The bench client logged in through the login form; returns it and its CSRF token."""
    client = app.test_client()
    token_re = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')
    found = token_re.search(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": "client@bench.test", "password": common.PASSWORD,
                                           "csrf_token": found.group(1) or found.group(2)})
    if response.status_code != 302:
        raise SystemExit(f"could not log the bench client in ({response.status_code})")
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    match = token_re.search(home)
    return client, match.group(1) or match.group(2)


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
    setup = common.Setup(args.setup).prepare()
    try:
        from sqlalchemy import event

        from app.extensions import db

        profile_id = set_up_sender(setup.app)
        client, csrf = logged_in_client(setup.app)
        statements = [0]
        with setup.app.app_context():
            engine = db.engine

        def count(*_a, **_k):
            statements[0] += 1

        post = poster(client, csrf, f"/profiles/{profile_id}/messages", "Hello, are you there?")

        for _ in range(args.warmup):
            post()
        event.listen(engine, "before_cursor_execute", count)
        before = statements[0]
        post()
        per_request = statements[0] - before
        common.wait_for_quiet(30.0)
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
            "when": common.now_iso(), "version": common.app_version(), "machine": common.machine(),
            "setup": setup.describe(), "statements_per_request": per_request,
            "psycopg_begin_commit_round_trips": 2 if dialect == "postgresql" else 0,
            "cpu_by_pause_ms": {f"{g:g}": v for g, v in by_gap.items()},
            "requests": args.requests, "repeats": args.repeats,
        }
        path = common.write_result("request_cost", f"{setup.kind}", record)
        first, last = by_gap[args.gaps[0]]["cpu_ms_median"], by_gap[args.gaps[-1]]["cpu_ms_median"]
        print(f"SUMMARY request_cost {setup.kind}: {per_request} SQL statements per client message"
              f"{' (+ BEGIN/COMMIT round trips)' if dialect == 'postgresql' else ''}; CPU {first} ms back to back, "
              f"{last} ms after a {args.gaps[-1]:g} ms pause -> {path.relative_to(common.ROOT)}")
    finally:
        setup.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
