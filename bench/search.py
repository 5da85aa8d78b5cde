"""Message search latency on a large PostgreSQL database: a million messages, then hundreds of searches.

Seeds ``--messages`` messages (default 1,000,000) over ``--conversations`` conversations (10,000:
one client each, spread over 200 profiles, each profile held by its own moderator, so a moderator
holds about 50 conversations) with one ``INSERT ... SELECT generate_series`` per batch; their texts
are drawn from a vocabulary of common words of the four UI languages and a long tail of rarer
made-up words, skewed like real text (a few words very common, most rare). Then it runs the search
service (``services.search.search_messages``: the statement, the rows, the snippets) in-process for
an admin and for one moderator, over varied queries: one word or two, common, mid and rare words,
a word being typed (a prefix), across everything or within one conversation, first page and the
next one. Reports p50/p99 per shape and overall, and EXPLAIN (ANALYZE, BUFFERS) of the slowest
shape's statement (slowest by its median). The goal it measures against: p99 under 50 ms.

It measures and reports; it never asserts. Needs PostgreSQL (DATABASE_URL, REDIS_URL); the bench
database's data is dropped at the end (``--keep`` leaves it).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench REDIS_URL=redis://127.0.0.1:6379/12 \\
      .venv/bin/python bench/search.py
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from percentiles import latency_summary  # noqa: E402
from project import app_version  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import create_profiles, create_users  # noqa: E402

GOAL_P99_MS = 50.0
PROFILES = 200

COMMON = """bonjour merci oui non salut comment vas tu bien très aussi toujours demain ce soir photo
hello thanks yes how are you good very also always tomorrow tonight picture love today
hallo danke ja nein wie geht gut sehr auch immer morgen heute abend bild liebe
hola gracias sí cómo estás bien muy también siempre mañana noche foto amor hoy
je suis tu es il est nous sommes vous êtes le la les un une des et ou mais donc car
the a an and or but so because is was were have has had do does did can will would
der die das und oder aber weil ist war sind habe hat kann wird el los las y pero porque
es era son tengo tiene puede café été déjà où là ça être avoir faire aller voir venir
week-end vacances plage mer montagne ville musique film livre travail école famille ami
weekend holiday beach sea mountain city music movie book work school family friend
Urlaub Strand Meer Berg Stadt Musik Buch Arbeit Schule Familie Freund Straße schön
vacaciones playa mar montaña ciudad música película libro trabajo escuela familia amigo""".split()
SYLLABLES = ("ka ri to mel sun dra vi lo pe mar tin ou sel ber gan zu fi lé nor ta pa mo chi rè "
             "ste wa qui bri dol fen gor hal isk jun kel lum nev ost pra rul sav tor ulm vex yor zim").split()


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument("--conversations", type=int, default=10_000)
    p.add_argument("--queries", type=int, default=400, help="measured searches (spread over the shapes)")
    p.add_argument("--batch", type=int, default=100_000, help="messages per INSERT ... SELECT")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep", action="store_true", help="leave the seeded data in the bench database")
    p.add_argument("--reuse", action="store_true", help="search the data a --keep run left (no seeding)")
    args = p.parse_args(argv)
    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        p.error("needs DATABASE_URL to a PostgreSQL database of its own (its public schema is dropped)")
    if args.conversations % PROFILES or args.messages < args.conversations:
        p.error(f"--conversations a multiple of {PROFILES}, --messages at least --conversations")
    return args


def vocabulary(rng: random.Random) -> list[str]:
    """Common words first, then a long tail of made-up words (rank order: the seeding's skew
    makes low ranks common)."""
    tail = set()
    while len(tail) < 30_000:
        tail.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    seen, words = set(), []
    for word in COMMON + sorted(tail):
        if word.lower() not in seen:
            seen.add(word.lower())
            words.append(word)
    return words


def seed(setup: Setup, args, words: list[str]) -> dict:
    """Users, profiles held one per moderator, conversations and messages; returns who searches."""
    from sqlalchemy import text

    from app.extensions import db

    started = time.perf_counter()
    clients = create_users(setup, "client", args.conversations, "client")
    moderators = create_users(setup, "moderator", PROFILES, "moderator")
    admin = create_users(setup, "admin", 1, "admin")[0]
    profiles = create_profiles(setup, PROFILES)
    with setup.app.app_context():
        conn = db.session.connection()
        conn.execute(text("INSERT INTO profile_assignments (profile_id, moderator_id, assigned_at) "
                          "SELECT p, m, now() FROM unnest(CAST(:p AS int[]), CAST(:m AS int[])) AS t(p, m)"),
                     {"p": profiles, "m": moderators})
        conn.execute(text(
            "INSERT INTO conversations (client_id, profile_id, assigned_moderator_id, assigned_at, pending_count, "
            "created_at, last_message_at) "
            "SELECT c, (CAST(:p AS int[]))[1 + i % :n], (CAST(:m AS int[]))[1 + i % :n], now(), 0, "
            "now() - interval '400 days', now() "
            "FROM unnest(CAST(:c AS int[])) WITH ORDINALITY AS t(c, i)"),
            {"p": profiles, "m": moderators, "c": clients, "n": PROFILES})
        conversation_ids = [r[0] for r in conn.execute(text("SELECT id FROM conversations ORDER BY id"))]
        db.session.commit()
        # Drop the GIN index while loading, built once at the end (as a restore would).
        conn = db.session.connection()
        conn.execute(text("DROP INDEX ix_messages_search"))
        db.session.commit()
        first, last = conversation_ids[0], conversation_ids[-1]
        # Each message: 3 to 24 words, the word of rank r drawn with probability falling like a
        # power law (random()^4 over the ranks); senders alternate.
        insert = text(
            "INSERT INTO messages (conversation_id, sender, author_id, body, client_token, created_at) "
            "SELECT c.id, CASE WHEN g % 2 = 0 THEN 'client' ELSE 'profile' END::message_sender, "
            "CASE WHEN g % 2 = 0 THEN c.client_id ELSE c.assigned_moderator_id END, "
            "(SELECT string_agg((CAST(:words AS text[]))[1 + floor(power(random(), 4) * :nwords)::int], ' ') "
            "   FROM generate_series(1, 3 + (g::bigint * 7919) % 22) WHERE g IS NOT NULL), "
            "md5(g::text), now() - interval '400 days' + g * interval '30 seconds' "
            "FROM generate_series(CAST(:lo AS int), CAST(:hi AS int)) AS g "
            "JOIN conversations c ON c.id = :first + (g::bigint * 7) % (:last - :first + 1)")
        for lo in range(1, args.messages + 1, args.batch):
            hi = min(args.messages, lo + args.batch - 1)
            db.session.connection().execute(insert, {"words": words, "nwords": len(words), "lo": lo, "hi": hi,
                                                     "first": first, "last": last})
            db.session.commit()
            print(f"  {hi:,} messages", flush=True)
        db.session.connection().execute(text("CREATE INDEX ix_messages_search ON messages USING gin (search_vector)"))
        db.session.commit()
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
            raw.execute(text("VACUUM ANALYZE"))
    # The measured moderator: the holder of the second profile (about 50 conversations).
    return {"admin": admin, "moderator": moderators[1], "conversations": conversation_ids,
            "seconds": round(time.perf_counter() - started, 1)}


def seeded(setup: Setup) -> dict:
    """Who searches, in data a ``--keep`` run left."""
    from sqlalchemy import text

    from app import create_app
    from app.extensions import db

    setup.app = create_app()
    with setup.app.app_context():
        people = {
            "admin": db.session.scalar(text("SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1")),
            "moderator": db.session.scalar(text(
                "SELECT moderator_id FROM profile_assignments ORDER BY profile_id OFFSET 1 LIMIT 1")),
            "conversations": list(db.session.scalars(text("SELECT id FROM conversations ORDER BY id"))),
            "seconds": None}
        db.session.remove()
    return people


def sizes_mb(setup: Setup) -> dict:
    from sqlalchemy import text

    from app.extensions import db

    with setup.app.app_context():
        sizes = dict(db.session.execute(text(
            "SELECT 'messages', pg_total_relation_size('messages') UNION ALL "
            "SELECT 'ix_messages_search', pg_relation_size('ix_messages_search')")).all())
        db.session.remove()
    return {k: round(v / 2**20, 1) for k, v in sizes.items()}


def word_bands(setup: Setup, words: list[str]) -> dict[str, list[str]]:
    """Words by how many messages hold them, read from the index's own statistics."""
    from sqlalchemy import text

    from app.extensions import db

    with setup.app.app_context():
        rows = db.session.execute(text(
            "SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM messages TABLESAMPLE SYSTEM (5)') "
            "ORDER BY ndoc DESC")).all()
        db.session.remove()
    ranked = [w for w, _ in rows if w.isalpha()]
    return {"common": ranked[:30], "mid": ranked[300:1500], "rare": ranked[-3000:]}


def shapes(bands, rng: random.Random, held: list[int], everything: list[int]):
    """(name, text, conversation chooser) of each query shape."""
    pick = lambda band: rng.choice(bands[band])  # noqa: E731
    word_shapes = {
        "one common word": lambda: pick("common"),
        "one mid word": lambda: pick("mid"),
        "one rare word": lambda: pick("rare"),
        "two common words": lambda: f"{pick('common')} {pick('common')}",
        "common + rare words": lambda: f"{pick('common')} {pick('rare')}",
        "a word being typed (prefix)": lambda: pick("mid")[:4],
    }
    out = []
    for who, pool in (("admin", everything), ("moderator", held)):
        for scope in ("all", "one conversation"):
            for name, make in word_shapes.items():
                out.append((who, scope, name, make, (lambda pool=pool: rng.choice(pool)) if scope != "all" else None))
    return out


def run_queries(setup: Setup, args, people: dict, bands, rng: random.Random) -> tuple[list, dict]:
    from sqlalchemy import event, select

    from app.extensions import db
    from app.models import Conversation, User
    from app.services import search as message_search

    with setup.app.app_context():
        limits = message_search.Limits.from_config(setup.app.config)
        held = list(db.session.scalars(select(Conversation.id).where(
            Conversation.assigned_moderator_id == people["moderator"])))
        all_shapes = shapes(bands, rng, held, people["conversations"])
        captured: list = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            if "search_vector" in statement and not captured:
                captured.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        actors = {"admin": db.session.get(User, people["admin"]), "moderator": db.session.get(User, people["moderator"])}
        timings, statements = [], {}
        total = args.queries + 40
        for i in range(total):
            who, scope, name, make, conversation = all_shapes[i % len(all_shapes)]
            query_text = make()
            conversation_id = conversation() if conversation else None
            captured.clear()
            started = time.perf_counter()
            results = message_search.search_messages(actors[who], query_text, limits,
                                                     conversation_id=conversation_id)
            first_page_ms = (time.perf_counter() - started) * 1000
            next_ms = None
            if results.next_before is not None and i % 4 == 0:   # a quarter also ask for the next page
                started = time.perf_counter()
                message_search.search_messages(actors[who], query_text, limits, conversation_id=conversation_id,
                                               before_id=results.next_before)
                next_ms = (time.perf_counter() - started) * 1000
            db.session.rollback()
            if i < 40:
                continue                     # warm-up: one pass over every shape
            key = f"{who} / {scope} / {name}"
            timings.append((key, first_page_ms, len(results.hits)))
            if next_ms is not None:
                timings.append((f"{who} / {scope} / next page", next_ms, None))
            if captured:
                statements.setdefault(key, []).append((first_page_ms, captured[0]))
        event.remove(db.engine, "before_cursor_execute", capture)
        db.session.remove()
    return timings, statements


def explain(setup: Setup, statement_and_params) -> list[str]:
    from app.extensions import db

    statement, parameters = statement_and_params
    with setup.app.app_context():
        conn = db.session.connection()
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
        db.session.rollback()
        db.session.remove()
    return [r[0] for r in rows]


def main(argv=None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    with Setup("services") as setup:
        words = vocabulary(rng)
        if args.reuse:
            people = seeded(setup)
        else:
            setup.prepare()
            print(f"seeding {args.messages:,} messages in {args.conversations:,} conversations…", flush=True)
            people = seed(setup, args, words)
        people["sizes_mb"] = sizes_mb(setup)
        print(f"  seeded in {people['seconds']} s; sizes (MB): {people['sizes_mb']}", flush=True)
        bands = word_bands(setup, words)
        timings, statements = run_queries(setup, args, people, bands, rng)
        by_shape: dict[str, list[float]] = {}
        hits: dict[str, list[int]] = {}
        for key, ms, count in timings:
            by_shape.setdefault(key, []).append(ms)
            if count is not None:
                hits.setdefault(key, []).append(count)
        summaries = {key: {**latency_summary(v), "mean_hits": round(sum(hits.get(key, [0])) / max(1, len(hits.get(key, []))), 1)}
                     for key, v in sorted(by_shape.items())}
        overall = latency_summary([ms for _, ms, _ in timings])
        # The slowest shape by its median (a p99 of a few runs is one run, often a pause of the
        # machine's); its slowest run is explained.
        slowest = max((k for k in statements), key=lambda k: (summaries[k]["p50_ms"], summaries[k]["p99_ms"]))
        worst_run = max(statements[slowest], key=lambda t: t[0])
        plan = explain(setup, worst_run[1])
        for key, s in summaries.items():
            print(f"  {key:<58} p50 {s['p50_ms']:>7} ms  p99 {s['p99_ms']:>7} ms  ({s['count']} runs, "
                  f"{s['mean_hits']} hits)")
        print(f"EXPLAIN ANALYZE of the slowest shape ({slowest}):")
        print("\n".join("  " + line for line in plan))
        record = {
            "when": now_iso(), "version": app_version(), "machine": machine(), "setup": setup.describe(),
            "messages": args.messages, "conversations": len(people["conversations"]), "moderator_conversations": 
                args.conversations // PROFILES, "vocabulary": len(words), "seed_seconds": people["seconds"],
            "sizes_mb": people["sizes_mb"], "overall": overall, "by_shape": summaries,
            "goal_p99_ms": GOAL_P99_MS, "slowest_shape": slowest, "slowest_explain": plan,
            "slowest_statement": worst_run[1][0], "slowest_parameters": {k: str(v) for k, v in worst_run[1][1].items()}
            if isinstance(worst_run[1][1], dict) else str(worst_run[1][1]),
        }
        path = write_result("search", "postgresql", record)
        if not args.keep:
            from sqlalchemy import text

            from app.extensions import db

            with setup.app.app_context():
                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
        verdict = "within" if overall["p99_ms"] < GOAL_P99_MS else "over"
        print(f"SUMMARY search postgresql: {args.messages:,} messages, {overall['count']} searches: "
              f"p50 {overall['p50_ms']} ms, p99 {overall['p99_ms']} ms ({verdict} the {GOAL_P99_MS:g} ms goal); "
              f"slowest shape {slowest} (p50 {summaries[slowest]['p50_ms']} ms, p99 {summaries[slowest]['p99_ms']} ms) "
              f"-> {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
