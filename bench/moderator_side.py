"""What a moderator's work costs the web process, in-process: their list pushes and their reply.

A moderator holding many conversations (``--conversations`` over ``--profiles``) is set up, then
these are timed in CPU (``time.process_time``, medians, taken in turns so that a drift of the
machine hits each alike):

* the whole list push (``push.conversation_list``: read the list, render every entry), sent
  when work is handed out or taken away;
* the lock push (``push.lock_status_changed``: one profile's entries and the locks panel), sent
  twice per answer (typing starts, the answer goes);
* a client's message (``POST /profiles/<id>/messages``) against the moderator's answer (``POST
  /moderateur/c/<id>/messages``), through Flask's test client.

Under gevent every one of these holds the process's event loop for its CPU time. It measures and
reports; it never asserts.

    .venv/bin/python bench/moderator_side.py
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
      .venv/bin/python bench/moderator_side.py --setup services
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_accounting import wait_for_quiet  # noqa: E402
from login import logged_in  # noqa: E402
from request_cost import CLIENT, MODERATOR, poster  # noqa: E402
from result_files import write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import PASSWORD  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--setup", choices=("embedded", "services"),
                   default="services" if os.environ.get("DATABASE_URL") else "embedded")
    p.add_argument("--conversations", type=int, default=200, help="conversations the moderator holds")
    p.add_argument("--profiles", type=int, default=20, help="profiles they are spread over")
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args(argv)
    if args.conversations < args.profiles or args.profiles < 1 or args.repeats < 3:
        p.error("--conversations at least --profiles, --profiles at least 1, --repeats at least 3")
    return args


def set_up_moderator(app, conversations: int, profile_count: int) -> tuple[int, list[int]]:
    """An online moderator holding ``profile_count`` profiles and ``conversations`` conversations
    over them (a third waiting), plus the bench client of ``request_cost``; returns the moderator's
    id and the profiles'."""
    from app.database import write_transaction
    from app.extensions import db
    from app.models import Conversation, ProfileAssignment, Role
    from app.clock import utcnow
    from app.services import profiles, moderator_queue, users

    with app.app_context():
        with write_transaction():
            moderator = users.create_user(email=MODERATOR, password=PASSWORD,
                                          role=Role.MODERATOR, display_name="Moderator")
            moderator.is_online = True
            users.create_user(email=CLIENT, password=PASSWORD, role=Role.CLIENT,
                              display_name="Client")
            held = [profiles.create_profile(name=f"Profile {n}", age=30, city="Paris", bio="Bench profile")
                    for n in range(profile_count)]
            db.session.flush()
            moderator_queue.join(moderator.id, utcnow())
            now = utcnow()
            db.session.add_all(ProfileAssignment(profile_id=p.id, moderator_id=moderator.id, assigned_at=now) for p in held)
            clients = [users.create_user(email=f"held{n}@bench.test", password=PASSWORD, role=Role.CLIENT,
                                         display_name=f"Client {n}") for n in range(conversations)]
            db.session.flush()
            db.session.add_all(
                Conversation(client_id=client.id, profile_id=held[n % profile_count].id,
                             assigned_moderator_id=moderator.id, assigned_at=now, created_at=now, last_message_at=now,
                             awaiting_reply_since=now if n % 3 == 0 else None, pending_count=1 if n % 3 == 0 else 0)
                for n, client in enumerate(clients))
        ids = moderator.id, [p.id for p in held]
        db.session.remove()
    return ids


def cpu_ms(action) -> float:
    t0 = time.process_time()
    action()
    return (time.process_time() - t0) * 1000


def main(argv=None) -> int:
    args = parse_args(argv)
    with Setup(args.setup) as setup:
        setup.prepare()
        app = setup.app

        from app.extensions import db
        from app.realtime import push

        moderator_id, profile_ids = set_up_moderator(app, args.conversations, args.profiles)

        def in_request(action):
            def run():
                with app.test_request_context("/moderateur/"):
                    try:
                        action()
                    finally:
                        db.session.remove()
            return run

        whole_list = in_request(lambda: push.conversation_list(moderator_id))
        lock_push = in_request(lambda: push.lock_status_changed(moderator_id, profile_ids[0]))

        client, client_csrf = logged_in(app, CLIENT)
        moderator, moderator_csrf = logged_in(app, MODERATOR, "/moderateur/")

        send = poster(client, client_csrf, f"/profiles/{profile_ids[1]}/messages", "Hello, are you there?")
        send()
        with app.app_context():
            from app.models import Conversation, User

            conversation_id = db.session.query(Conversation.id).join(User, User.id == Conversation.client_id).filter(
                User.email == CLIENT).scalar()
            db.session.remove()

        reply = poster(moderator, moderator_csrf, f"/moderateur/c/{conversation_id}/messages", "Yes, I am here.")

        for _ in range(5):
            whole_list(), lock_push(), send(), reply()
        wait_for_quiet(30.0)
        timings = {"whole_list_push": [], "lock_push": [], "client_message": [], "moderator_reply": []}
        for _ in range(args.repeats):
            timings["whole_list_push"].append(cpu_ms(whole_list))
            timings["lock_push"].append(cpu_ms(lock_push))
            for _ in range(5):
                timings["client_message"].append(cpu_ms(send))
                timings["moderator_reply"].append(cpu_ms(reply))
        medians = {name: round(statistics.median(values), 2) for name, values in timings.items()}
        per_profile = args.conversations // args.profiles
        print(f"moderator_side: setup={args.setup} conversations={args.conversations} profiles={args.profiles} "
              f"repeats={args.repeats}")
        print(f"  whole list push ({args.conversations} entries): CPU {medians['whole_list_push']} ms")
        print(f"  lock push ({per_profile} entries and the locks panel): CPU {medians['lock_push']} ms")
        print(f"  client message {medians['client_message']} ms, moderator reply {medians['moderator_reply']} ms "
              "(CPU per request, in-process)")
        result = {"setup": setup.describe(), "conversations": args.conversations, "profiles": args.profiles,
                  "repeats": args.repeats, "cpu_ms_median": medians}
        path = write_result("moderator_side", f"{args.setup}-C{args.conversations}", result)
        print(f"SUMMARY moderator_side {args.setup}-C{args.conversations}: whole list push {medians['whole_list_push']} ms, "
              f"lock push {medians['lock_push']} ms, client message {medians['client_message']} ms, "
              f"moderator reply {medians['moderator_reply']} ms CPU -> {path}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
