"""What the database's connections are doing while a benchmark runs beside it: PostgreSQL's
``pg_stat_activity`` sampled every ``--every`` seconds for ``--seconds``, each of the database's
connections counted by its state and wait event (``advisory`` waiting for the decisions' turn,
``ClientRead`` waiting for the web process's next statement, ``-`` running...).

Where a queue of requests forms, this says whether they wait on a lock in the database or in the
web process (idle connections, or none free). It measures and reports; it never asserts.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench \\
      .venv/bin/python bench/pg_waits.py --after-seconds 12 --seconds 8 --label "first 100/s, 1 worker"
    (started beside bench/push_latency.py, so that the samples fall in the phase to look at)
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from project import app_version  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402

QUERY = """SELECT coalesce(state, '-') AS state, coalesce(wait_event, '-') AS wait_event, count(*)
           FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() GROUP BY 1, 2"""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=8.0, help="how long to sample")
    p.add_argument("--every", type=float, default=0.5, help="seconds between samples")
    p.add_argument("--after-seconds", type=float, default=0.0, help="wait this long before the first sample")
    p.add_argument("--label", default="", help="what ran beside it (kept with the result)")
    args = p.parse_args(argv)
    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        p.error("needs DATABASE_URL naming a PostgreSQL database")
    if args.seconds <= 0 or args.every <= 0:
        p.error("--seconds and --every must be positive")
    return args


def sample(conn, database: str) -> Counter:
    rows = conn.execute(QUERY, (database,)).fetchall()
    return Counter({f"{state}:{wait}": n for state, wait, n in rows})


def main(argv=None) -> int:
    import psycopg

    args = parse_args(argv)
    url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    database = urlsplit(url).path.lstrip("/")
    time.sleep(args.after_seconds)
    samples = []
    with psycopg.connect(url, autocommit=True) as conn:
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            samples.append(sample(conn, database))
            time.sleep(args.every)
    total = sum(samples, Counter())
    mean = {key: round(n / len(samples), 1) for key, n in total.most_common()}
    record = {"when": now_iso(), "version": app_version(), "machine": machine(), "label": args.label,
              "database": database, "samples": len(samples), "mean_connections_by_state_and_wait": mean}
    path = write_result("pg_waits", args.label or "unlabelled", record)
    shown = ", ".join(f"{key} {n}" for key, n in mean.items())
    print(f"SUMMARY pg_waits {args.label or database}: mean connections over {len(samples)} samples: {shown} "
          f"-> {path.relative_to(path.parents[2])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
