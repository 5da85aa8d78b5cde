"""How new work spreads when moderators come online together: conversations per moderator.

In-process, through the services as the socket handler and the send route call them, one
write transaction per step, all at one instant (``now``); counts only, no timings (load-free):

* ``two_tabs``: M moderators come online (``pages.opened``), then C/2 clients each write to two
  of P profiles in the same instant (two tabs);
* ``one_each``: M moderators come online, then C clients write to one profile each (round robin);
* ``waiting_first``: C clients write to one profile each while nobody is online, then the M
  moderators' pages connect together (one thread each, started at once).

For each: conversations held per moderator (busiest first), how many moderators got work, and
how many conversations wait unassigned (a client approached by someone else: they go out when
that approach ends). The script measures and reports; it never asserts.

    .venv/bin/python bench/arrival_spread.py                       # SQLite + embedded Redis
    DATABASE_URL=postgresql://… REDIS_URL=redis://… .venv/bin/python bench/arrival_spread.py --setup services
"""
from __future__ import annotations

import argparse
import random
import sys
import threading
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from project import app_version  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import create_profiles, create_users  # noqa: E402

SCENARIOS = ("two_tabs", "one_each", "waiting_first")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--setup", choices=("embedded", "services"), default="embedded")
    p.add_argument("--moderators", type=int, default=8)
    p.add_argument("--conversations", type=int, default=48)
    p.add_argument("--profiles", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    if args.profiles < 2 or args.moderators < 1 or args.conversations < 2:
        p.error("at least 2 profiles, 1 moderator, 2 conversations")
    return args


def run(setup: Setup, args, scenario: str) -> dict:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Conversation
    from app.redis_client import get_redis
    from app.services import pages, sending

    rng = random.Random(args.seed)
    tag = f"{scenario}-{uuid.uuid4().hex[:6]}"
    moderators = create_users(setup, "moderator", args.moderators, f"spread-mod-{tag}")
    profiles = setup.profiles
    now = datetime(2026, 12, 5, 12, 0)
    with setup.app.app_context():
        r = get_redis()

        def come_online():
            for moderator_id in moderators:
                pages.opened(r, moderator_id, uuid.uuid4().hex, now)

        def come_online_together():  # each page's socket on its own thread, all started at once
            def one(moderator_id):
                with setup.app.app_context():
                    pages.opened(get_redis(), moderator_id, uuid.uuid4().hex, now)
                    db.session.remove()

            threads = [threading.Thread(target=one, args=(m,)) for m in moderators]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        if scenario == "two_tabs":
            clients = create_users(setup, "client", args.conversations // 2, f"spread-client-{tag}")
            come_online()
            writes = [(c, p) for c in clients for p in rng.sample(profiles, 2)]
        else:
            clients = create_users(setup, "client", args.conversations, f"spread-client-{tag}")
            writes = [(c, profiles[i % len(profiles)]) for i, c in enumerate(clients)]
            if scenario == "one_each":
                come_online()
        for client_id, profile_id in writes:
            sending.send_client_message(client_id, profile_id, "bonjour", uuid.uuid4().hex, now)
        if scenario == "waiting_first":
            come_online_together()
        held = dict(db.session.execute(
            select(Conversation.assigned_moderator_id, func.count())
            .where(Conversation.client_id.in_(clients)).group_by(Conversation.assigned_moderator_id)).all())
        db.session.remove()
    waiting = held.pop(None, 0)
    counts = sorted((held.get(m, 0) for m in moderators), reverse=True)
    return {"per_moderator": counts, "moderators_with_work": sum(1 for n in counts if n), "busiest": counts[0],
            "unassigned_waiting": waiting, "conversations": sum(counts) + waiting}


def reset(setup: Setup) -> None:
    """Nobody online, nothing held: each scenario starts from an empty floor (same profiles)."""
    from sqlalchemy import delete, update

    from app.database import write_transaction
    from app.extensions import db
    from app.models import (AssignmentChange, AssignmentConflict, ClientLock, Conversation, Message,
                            PendingClientMessage, ProfileAssignment, ProfileLock, QueueEntry, User)

    with setup.app.app_context():
        with write_transaction():
            for model in (PendingClientMessage, AssignmentChange, AssignmentConflict, Message, Conversation,
                          ProfileLock, ClientLock, ProfileAssignment, QueueEntry):
                db.session.execute(delete(model))
            db.session.execute(update(User).values(is_online=False))
        db.session.remove()


def main(argv=None) -> int:
    args = parse_args(argv)
    commit = app_version()
    print(f"arrival_spread: setup={args.setup} moderators={args.moderators} conversations={args.conversations} "
          f"profiles={args.profiles} (app {commit})", flush=True)
    results = {}
    with Setup(args.setup) as setup:
        setup.prepare()
        setup.profiles = create_profiles(setup, args.profiles)
        for scenario in SCENARIOS:
            reset(setup)
            results[scenario] = run(setup, args, scenario)
            res = results[scenario]
            print(f"  {scenario}: per moderator {res['per_moderator']}, {res['moderators_with_work']}/{args.moderators} "
                  f"with work, {res['unassigned_waiting']} waiting for an approach to end", flush=True)
        setup_desc = setup.describe()
    key = f"{args.setup}-M{args.moderators}-C{args.conversations}-P{args.profiles}-{commit}"
    path = write_result("arrival_spread", key, {"when": now_iso(), "app_commit": commit, "setup": setup_desc,
                                                "machine": machine(), "args": vars(args), "scenarios": results})
    print(f"SUMMARY arrival_spread {key}: " + "; ".join(
        f"{s} busiest {r['busiest']}, {r['moderators_with_work']}/{args.moderators} with work, "
        f"{r['unassigned_waiting']} waiting" for s, r in results.items()) + f" -> {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
