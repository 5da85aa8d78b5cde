"""What the content filters cost a message on the send path: ``filters.screen`` with no rule and
with ``--rules`` rules (word lists and patterns in every language, every action), the rules
compiled once as in a running process, and the version stamp read from Redis either at most
every ``FILTER_RELOAD_CHECK_MS`` (as configured) or on every message.

Rounds alternate the cases; each case screens ``--repeat`` messages (mostly clean chat lines, a
few that hit a rule), then stores ``--sends`` clean messages through the whole send path
(``sending.send_client_message``, in-process, database and Redis included) with no rule and
with the rules. Reported: median over rounds of the process's CPU time and the wall time
per message, in milliseconds. It never asserts.

    .venv/bin/python bench/filters.py
    DATABASE_URL=postgresql://... REDIS_URL=redis://.../5 .venv/bin/python bench/filters.py --setup services
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from project import app_version  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402

LANGUAGES = ("all", "en", "fr", "de", "es")
ACTIONS = ("block", "mask", "flag")
MESSAGES = [
    "Bonjour, comment vas-tu aujourd'hui ? J'ai passé une super journée au parc avec mon chien.",
    "Hi! I was thinking about you, what are you doing this weekend? Maybe a movie?",
    "Hola, ¿qué tal? Me encantaría conocerte mejor, cuéntame algo de ti.",
    "Hallo, wie geht es dir? Ich habe heute lange gearbeitet und bin jetzt müde.",
    "ok",
    "Tu es vraiment adorable, j'adore ta photo de profil, elle est très jolie.",
    "Send me your number 0612345678 please",  # hits a pattern
    "word17x is what I say",  # hits a word list
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--setup", choices=("embedded", "services"),
                   default="services" if os.environ.get("DATABASE_URL") else "embedded")
    p.add_argument("--rules", type=int, default=200)
    p.add_argument("--repeat", type=int, default=5000, help="messages per case per round")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--sends", type=int, default=200, help="messages stored per send case per round")
    args = p.parse_args(argv)
    if not 1 <= args.rules <= 500 or args.repeat < 100 or not 1 <= args.rounds <= 30:
        p.error("--rules 1..500, --repeat at least 100, --rounds 1..30")
    return args


def rule_fields(n: int) -> dict:
    """Rule ``n``: three in four a word list of five words, one in four a pattern."""
    language, action = LANGUAGES[n % len(LANGUAGES)], ACTIONS[n % len(ACTIONS)]
    if n % 4 == 3:
        return dict(kind="pattern", expression=rf"\b0[67](?:[ .-]?\d{{2}}){{4}}\b|x{n}y+z", language=language,
                    action=action)
    words = "\n".join(f"word{n}{letter}" for letter in "vwxyz")
    return dict(kind="words", expression=words, language=language, action=action)


def main(argv=None) -> int:
    args = parse_args(argv)
    with Setup(args.setup) as setup:
        setup.prepare()
        app = setup.app
        from app.database import write_transaction
        from app.extensions import db
        from app.models import FilterRule, Role, User
        from app.services import profiles, sending, users
        from app.services.filters import matcher, rules, screen

        now = datetime(2026, 1, 1, 9, 0)
        with app.app_context():
            with write_transaction():
                admin = users.create_user(email="filters-admin@bench.test", password="bench-password-1",
                                          role=Role.ADMIN, display_name="Admin")
                client = users.create_user(email="filters-client@bench.test", password="bench-password-1",
                                           role=Role.CLIENT, display_name="Client")
                profile = profiles.create_profile(name="Bench", age=30, city="Paris", bio="")
            client_id, profile_id, admin_id = client.id, profile.id, admin.id
            clean = [body for body in MESSAGES if "word17" not in body and "06" not in body]
            sent = iter(range(10**9))
            interval = app.config["FILTER_RELOAD_CHECK_MS"]
            random.seed(20)
            bodies = [random.choice(MESSAGES) for _ in range(args.repeat)]

            def with_rules(count: int):
                admin = db.session.get(User, admin_id)
                db.session.query(FilterRule).delete()
                for n in range(count):
                    rules.create_rule(admin, **rule_fields(n), now=now)
                db.session.commit()
                rules.changed()
                matcher.current()  # compiled once, as a running process has them

            def run(check_ms: int) -> tuple[float, float]:
                app.config["FILTER_RELOAD_CHECK_MS"] = check_ms
                cpu, wall = time.process_time(), time.perf_counter()
                for body in bodies:
                    screen(body, "fr")
                return ((time.process_time() - cpu) / len(bodies) * 1000,
                        (time.perf_counter() - wall) / len(bodies) * 1000)

            def send_all(count: int) -> tuple[float, float]:
                cpu, wall = time.process_time(), time.perf_counter()
                for n in range(count):
                    sending.send_client_message(client_id, profile_id, clean[n % len(clean)], f"bench-{next(sent)}",
                                                now, language="fr")
                    db.session.remove()
                return ((time.process_time() - cpu) / count * 1000, (time.perf_counter() - wall) / count * 1000)

            cases = {"no_rules": (0, interval), f"rules_{args.rules}": (args.rules, interval),
                     f"rules_{args.rules}_version_each_message": (args.rules, 0)}
            samples = {name: {"cpu": [], "wall": []} for name in cases}
            send_cases = {"send_no_rules": 0, f"send_rules_{args.rules}": args.rules}
            samples |= {name: {"cpu": [], "wall": []} for name in send_cases}
            for name, (count, check_ms) in cases.items():  # warm-up
                with_rules(count)
                run(check_ms)
            for _ in range(args.rounds):
                for name, (count, check_ms) in cases.items():
                    with_rules(count)
                    cpu, wall = run(check_ms)
                    samples[name]["cpu"].append(cpu)
                    samples[name]["wall"].append(wall)
                for name, count in send_cases.items():
                    with_rules(count)
                    cpu, wall = send_all(args.sends)
                    samples[name]["cpu"].append(cpu)
                    samples[name]["wall"].append(wall)
            hits = sum(screen(body, "fr").hit for body in bodies)
            app.config["FILTER_RELOAD_CHECK_MS"] = interval
            with_rules(0)
    per_case = {name: {kind: round(statistics.median(values), 4) for kind, values in kinds.items()}
                for name, kinds in samples.items()}
    record = {"when": now_iso(), "version": app_version(), "machine": machine(), "setup": args.setup,
              "rules": args.rules, "messages_per_round": args.repeat, "rounds": args.rounds,
              "messages_hit_of_round": hits, "sends_per_round": args.sends, "reload_check_ms": interval,
              "ms_per_message_median": per_case}
    path = write_result("filters", f"{args.setup}-{args.rules}", record)
    with_rules_case = per_case[f"rules_{args.rules}"]
    print(f"filters: {args.rules} rules {with_rules_case['cpu']:.4f} ms CPU / {with_rules_case['wall']:.4f} ms wall "
          f"per message (no rule {per_case['no_rules']['cpu']:.4f} / {per_case['no_rules']['wall']:.4f}; version read "
          f"each message {per_case[f'rules_{args.rules}_version_each_message']['wall']:.4f} ms wall); whole send "
          f"{per_case[f'send_rules_{args.rules}']['cpu']:.3f} ms CPU with rules vs {per_case['send_no_rules']['cpu']:.3f} "
          f"without -> {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
