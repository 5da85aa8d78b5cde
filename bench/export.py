"""Exporting a long conversation: each format (CSV, JSON, PDF) written by the export job's own
code in a fresh process, as an RQ worker runs a job: wall time, the process's peak RSS
(ru_maxrss) before and after, and the peak of Python allocations during the export (tracemalloc,
in a second run, since tracing slows it). Messages mix scripts and lengths (accents, Cyrillic,
Greek, CJK, emoji).

    python bench/export.py [--messages 10000] [--setup embedded|services]

Prints one SUMMARY line and stores the figures in bench/results/export.json.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

BODIES = (
    "Bonjour ! Tu as passé une bonne journée ? J'ai visité le musée, c'était génial.",
    "Привет! Как прошли выходные? Я ездил на дачу к родителям.",
    "Καλημέρα! Πώς είσαι σήμερα;",
    "今天天气很好，我们去公园散步吧。",
    "Haha 😀👍 see you tomorrow then ❤️",
    "=SUM(A1:A9) is not a formula here",
    "A longer message, the kind people write when they tell a story: first this happened, then that, "
    "and in the end everyone laughed about it for a long while, even the ones who had been grumpy.",
)


def _child(export_id: str, trace: bool) -> None:
    """Build one export in this (fresh) process and print what it cost, as JSON."""
    import tracemalloc

    import project  # noqa: F401 - the project root on sys.path
    from app import create_app
    from app.clock import utcnow
    from app.services.exports import building
    from app.services.exports.files import storage_from

    app = create_app()
    with app.test_request_context(base_url=app.config["PUBLIC_URL"]):
        from app.services.exports import pdf

        pdf.drawable()  # the font's table, read once per worker process: not the export's cost
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if trace:
            tracemalloc.start()
        start = time.perf_counter()
        outcome = building.build(export_id, storage_from(app.config), building.Settings.from_config(app.config), utcnow)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] if trace else None
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"outcome": outcome, "seconds": seconds, "tracemalloc_peak_bytes": peak,
                      "maxrss_before_kib": rss_before, "maxrss_after_kib": rss_after}))


def _seed(setup, messages: int) -> tuple[int, int]:
    from app.clock import utcnow
    from app.database import write_transaction
    from app.extensions import db
    from app.models import Message, Role
    from app.models.chat import Sender
    from app.services import sending, users
    from app.services import profiles

    with setup.app.test_request_context():
        with write_transaction():
            client = users.create_user(email="client@bench.test", password="bench-password", role=Role.CLIENT,
                                       display_name="Julien", locale="fr")
            moderator = users.create_user(email="mod@bench.test", password="bench-password", role=Role.MODERATOR,
                                          display_name="Inès")
            profile = profiles.create_profile(name="Léa", age=27, city="Paris", bio="")
        start = utcnow() - timedelta(minutes=messages + 1)
        with write_transaction():
            posted = sending.post_client_message(db.session.merge(client), profile.id, BODIES[0], "t-0", start)
        conversation_id, client_id = posted.message.conversation_id, client.id
        batch = []
        for index in range(1, messages):
            sender = Sender.PROFILE if index % 3 == 0 else Sender.CLIENT
            batch.append({"conversation_id": conversation_id, "sender": sender, "body": BODIES[index % len(BODIES)],
                          "client_token": f"t-{index}", "author_id": client_id if sender is Sender.CLIENT else moderator.id,
                          "created_at": start + timedelta(minutes=index)})
            if len(batch) == 2000 or index == messages - 1:
                with write_transaction():
                    db.session.execute(Message.__table__.insert(), batch)
                batch = []
        db.session.remove()
    return conversation_id, client_id


def _new_export(setup, conversation_id: int, client_id: int, fmt: str) -> str:
    from app.clock import utcnow
    from app.database import write_transaction
    from app.extensions import db
    from app.models import Export, User
    from app.services.exports import access

    with setup.app.test_request_context():
        with write_transaction():
            db.session.execute(Export.__table__.delete().where(Export.__table__.c.state != "ready"))
            asked = access.request_export(db.session.get(User, client_id), conversation_id, fmt, utcnow(), access.Limits(3600, 1000))
        db.session.remove()
    return asked.export_id


def _run_child(setup, export_id: str, trace: bool) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", export_id] + (["--trace"] if trace else []),
                            env={**os.environ, **setup.env}, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--setup", choices=("embedded", "services"), default="embedded")
    parser.add_argument("--child")
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.trace)
        return

    from project import app_version
    from result_files import machine, now_iso, write_result
    from run_setup import Setup

    with Setup(args.setup) as setup:
        setup.prepare()
        conversation_id, client_id = _seed(setup, args.messages)
        figures = {}
        for fmt in ("csv", "json", "pdf"):
            timed = _run_child(setup, _new_export(setup, conversation_id, client_id, fmt), trace=False)
            traced = _run_child(setup, _new_export(setup, conversation_id, client_id, fmt), trace=True)
            assert timed["outcome"].startswith("ready") and traced["outcome"].startswith("ready"), (timed, traced)
            size = int(timed["outcome"].rsplit(", ", 1)[1].split()[0])
            figures[fmt] = {"seconds": round(timed["seconds"], 3), "file_bytes": size,
                            "tracemalloc_peak_mib": round(traced["tracemalloc_peak_bytes"] / 2**20, 2),
                            "maxrss_before_mib": round(timed["maxrss_before_kib"] / 1024, 1),
                            "maxrss_after_mib": round(timed["maxrss_after_kib"] / 1024, 1)}
        record = {"taken_at": now_iso(), "app_version": app_version(), "machine": machine(),
                  "setup": setup.describe(), "messages": args.messages,
                  "chunk_size": setup.app.config["EXPORT_CHUNK_SIZE"], "formats": figures}
        write_result("export", f"{args.setup}_{args.messages}_messages", record)
    print("SUMMARY export of %d messages (%s): " % (args.messages, args.setup) + "; ".join(
        f"{fmt} {f['seconds']:.2f} s, {f['file_bytes'] / 2**20:.1f} MiB, tracemalloc peak {f['tracemalloc_peak_mib']:.1f} MiB, "
        f"RSS {f['maxrss_before_mib']:.0f}→{f['maxrss_after_mib']:.0f} MiB" for fmt, f in figures.items()))


if __name__ == "__main__":
    main()
