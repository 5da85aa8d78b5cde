"""What one refresh of the queue panels costs the web process, in-process.

Every assignment decision moves queue positions, so each web process refreshes the queue panels
of the sockets it holds (``push._push_queue_panels``, coalesced to one refresh per
``QUEUE_PUSH_INTERVAL_SECONDS`` in a burst). Here ``--moderators`` moderators are online and
queued, each with a socket registered in this process's hub (the hub's mailboxes, no network),
in the four languages; a refresh reads the queue, fills in every panel and puts it in each
mailbox. Its CPU time (``time.process_time``) is reported as the median of ``--repeats``
refreshes after a few unmeasured ones, with the time per panel. Under gevent a refresh holds the
process's event loop for that time. It measures and reports; it never asserts.

    .venv/bin/python bench/queue_panels.py
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
      .venv/bin/python bench/queue_panels.py --setup services
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from project import app_version  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import PASSWORD  # noqa: E402

LOCALES = ("en", "fr", "de", "es")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--setup", choices=("embedded", "services"),
                   default="services" if os.environ.get("DATABASE_URL") else "embedded")
    p.add_argument("--moderators", type=int, default=1000, help="queued moderators with a socket here")
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args(argv)
    if args.moderators < 1 or args.repeats < 3:
        p.error("--moderators at least 1, --repeats at least 3")
    return args


def queue_moderators(app, count: int) -> list[int]:
    """``count`` online moderators in the queue, in turn in each language; their ids."""
    from app.clock import utcnow
    from app.database import write_transaction
    from app.extensions import db
    from app.models import Role
    from app.services import moderator_queue, users

    with app.app_context():
        with write_transaction():
            moderators = []
            for n in range(count):
                moderator = users.create_user(email=f"queued{n}@bench.test", password=PASSWORD, role=Role.MODERATOR,
                                              display_name=f"Moderator {n}", locale=LOCALES[n % len(LOCALES)])
                moderator.is_online = True
                moderators.append(moderator)
            db.session.flush()
            for moderator in moderators:
                moderator_queue.join(moderator.id, utcnow())
            ids = [moderator.id for moderator in moderators]
        db.session.remove()
    return ids


def main(argv=None) -> int:
    args = parse_args(argv)
    with Setup(args.setup) as setup:
        setup.prepare()
        app = setup.app

        from app.extensions import db
        from app.realtime import push
        from app.realtime.hub import get_hub

        ids = queue_moderators(app, args.moderators)
        with app.app_context():
            hub = get_hub()
            connections = [hub.register(moderator_id) for moderator_id in ids]
            deadline = time.monotonic() + 10
            while not hub.listening and time.monotonic() < deadline:
                time.sleep(0.05)
            if not hub.listening:
                raise SystemExit("the hub's subscription did not start")

        def refresh() -> tuple[float, int]:
            with app.test_request_context(base_url=app.config["PUBLIC_URL"]):
                started = time.process_time()
                try:
                    push._push_queue_panels()
                finally:
                    db.session.remove()
                spent = time.process_time() - started
            delivered = 0
            for connection in connections:  # emptied, as each socket's writer would
                while connection.take() is not None:
                    delivered += 1
            return spent * 1000, delivered

        for _ in range(5):
            refresh()
        runs = [refresh() for _ in range(args.repeats)]
        for connection in connections:
            hub.unregister(connection)
        cpu = statistics.median(ms for ms, _ in runs)
        panels = int(statistics.median(delivered for _, delivered in runs))
        if panels != args.moderators:
            raise SystemExit(f"a refresh delivered {panels} panels for {args.moderators} queued moderators")
        per_panel_us = cpu * 1000 / panels
        record = {"when": now_iso(), "app_commit": app_version(), "machine": machine(), "setup": setup.describe(),
                  "moderators": args.moderators, "repeats": args.repeats, "refresh_cpu_ms_median": round(cpu, 2),
                  "refresh_cpu_ms_min": round(min(ms for ms, _ in runs), 2), "panels_per_refresh": panels,
                  "cpu_us_per_panel": round(per_panel_us, 1)}
        key = f"{setup.kind}-N{args.moderators}"
        path = write_result("queue_panels", key, record)
        print(f"SUMMARY queue_panels {key}: one refresh of {panels} panels {cpu:.2f} ms CPU "
              f"({per_panel_us:.1f} us per panel) -> {path}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
