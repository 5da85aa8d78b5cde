"""Would caching a conversation's recent messages in Redis pay? What it could save and what it costs.

A cache of the first page (the ``HISTORY_PAGE_SIZE`` latest messages) would replace, on each
opening of a conversation, the history query and the ORM rows it builds by a Redis GET and the
rows rebuilt from it; and every message written would have to invalidate it (a Redis DEL at
least, on the send path). This measures, in-process and one after the other in rounds (each
operation ``--repeat`` times per round, the rounds alternating the operations):

* ``open``: a client's ``GET /profiles/<id>`` of a conversation of ``--messages`` messages, the
  whole request (for scale);
* ``query``: ``reading.history_page`` alone (what a cache would save);
* ``cached_read``: GET of the page stored as JSON in Redis and the message objects rebuilt (the
  least a cache read costs);
* ``invalidate``: one DEL (the least a write costs to keep the cache exact).

It reports the median over rounds of the process's CPU and the wall time per operation (the
wall time includes the database's and Redis's own work). It never asserts.

    .venv/bin/python bench/history_cache.py
    DATABASE_URL=postgresql://... REDIS_URL=redis://.../5 .venv/bin/python bench/history_cache.py --setup services
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

from login import logged_in  # noqa: E402
from project import ROOT, app_version  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import PASSWORD  # noqa: E402

CLIENT = "history-client@bench.test"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--setup", choices=("embedded", "services"),
                   default="services" if os.environ.get("DATABASE_URL") else "embedded")
    p.add_argument("--messages", type=int, default=200, help="messages in the conversation")
    p.add_argument("--repeat", type=int, default=200, help="operations per round")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    if args.messages < 60 or args.repeat < 10 or not 1 <= args.rounds <= 20:
        p.error("--messages at least 60, --repeat at least 10, --rounds 1..20")
    return args


def set_up(app, count: int) -> tuple[int, int]:
    """A client, a profile and their conversation of ``count`` messages; (profile id, conversation id)."""
    from app.database import write_transaction
    from app.extensions import db
    from app.models import Conversation, Message, Role
    from app.models.chat import Sender
    from app.services import profiles, users

    start = datetime(2026, 1, 1, 9, 0)
    with app.app_context():
        with write_transaction():
            client = users.create_user(email=CLIENT, password=PASSWORD, role=Role.CLIENT, display_name="Client")
            moderator = users.create_user(email="history-moderator@bench.test", password=PASSWORD,
                                          role=Role.MODERATOR, display_name="Moderator")
            profile = profiles.create_profile(name="Bench", age=30, city="Paris", bio="")
            db.session.flush()
            conversation = Conversation(client_id=client.id, profile_id=profile.id, created_at=start,
                                        last_message_at=start + timedelta(minutes=count))
            db.session.add(conversation)
            db.session.flush()
            db.session.add_all(Message(conversation_id=conversation.id, sender=Sender.CLIENT if n % 2 else Sender.PROFILE,
                                       author_id=client.id if n % 2 else moderator.id, body=f"message {n:03d} " + "word " * 12,
                                       client_token=f"t{n}", created_at=start + timedelta(minutes=n))
                               for n in range(count))
        ids = (profile.id, conversation.id)
        db.session.remove()
    return ids


def main(argv=None) -> int:
    args = parse_args(argv)
    with Setup(args.setup) as setup:
        setup.prepare()
        app = setup.app
        profile_id, conversation_id = set_up(app, args.messages)
        client, _ = logged_in(app, CLIENT)
        size = app.config["HISTORY_PAGE_SIZE"]

        from app.extensions import db
        from app.models import Message
        from app.redis_client import get_redis
        from app.services import reading

        with app.app_context():
            r = get_redis()
            key = f"bench:history:{conversation_id}"
            page = reading.history_page(conversation_id, size=size)
            columns = [c.name for c in Message.__table__.c]
            r.set(key, json.dumps([{name: (value.isoformat() if isinstance(value, datetime) else
                                           getattr(value, "value", value))
                                    for name in columns for value in [getattr(m, name)]} for m in page.messages]))
            db.session.remove()

            def open_page():
                response = client.get(f"/profiles/{profile_id}")
                if response.status_code != 200:
                    raise SystemExit(f"GET /profiles/{profile_id} answered {response.status_code}")

            def query():
                reading.history_page(conversation_id, size=size)
                db.session.remove()

            def cached_read():
                [SimpleNamespace(**row) for row in json.loads(r.get(key))]

            def invalidate():
                r.delete(f"{key}:other")

            operations = {"open": open_page, "query": query, "cached_read": cached_read, "invalidate": invalidate}
            for operation in operations.values():  # warm-up
                for _ in range(20):
                    operation()
            samples: dict[str, dict[str, list[float]]] = {name: {"cpu": [], "wall": []} for name in operations}
            for _ in range(args.rounds):
                for name, operation in operations.items():
                    cpu, wall = time.process_time(), time.perf_counter()
                    for _ in range(args.repeat):
                        operation()
                    samples[name]["cpu"].append((time.process_time() - cpu) / args.repeat * 1000)
                    samples[name]["wall"].append((time.perf_counter() - wall) / args.repeat * 1000)
            r.delete(key)
        per_operation = {name: {kind: round(statistics.median(values), 3) for kind, values in kinds.items()}
                         for name, kinds in samples.items()}
        saved = per_operation["query"]["wall"] - per_operation["cached_read"]["wall"]
        record = {"when": now_iso(), "version": app_version(), "machine": machine(), "setup": setup.describe(),
                  "messages": args.messages, "page_size": size, "repeat": args.repeat, "rounds": args.rounds,
                  "ms_per_operation": per_operation, "saved_per_open_ms": round(saved, 3),
                  "cost_per_message_written_ms": per_operation["invalidate"]["wall"]}
        path = write_result("history_cache", setup.kind, record)
        o, q, c, i = (per_operation[n] for n in ("open", "query", "cached_read", "invalidate"))
        print(f"SUMMARY history_cache {setup.kind}: opening a conversation {o['wall']:.2f} ms (CPU {o['cpu']:.2f}); "
              f"its history query {q['wall']:.2f} ms (CPU {q['cpu']:.2f}); a cache read at least {c['wall']:.2f} ms "
              f"(CPU {c['cpu']:.2f}): saves {saved:.2f} ms per opening, costs {i['wall']:.2f} ms (CPU {i['cpu']:.2f}) "
              f"per message written -> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
