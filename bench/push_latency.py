"""Push latency: client message POSTed over HTTP -> fragment on the moderator's WebSocket.

N moderators hold one socket each; N client/profile conversations over N profiles (by default:
one profile per moderator, so every socket receives, as in the peer's run) are opened first (one
message each, one after the other so the least-loaded rule gives every moderator one), then
client messages are posted at R msg/s, open loop, round-robin over the conversations. Each body
carries a unique marker; the latency of a message is from just before its POST is written to
the first arrival of a fragment containing its marker on any moderator socket. HTTP and the
sockets run in one asyncio loop (no threads, so arrival stamps are not delayed by the GIL).

First messages (``--first-messages RATE[,RATE...]``), before all that, with every moderator
online and none holding work yet: new clients each post their first message, open loop at each
rate in turn for ``--first-duration`` seconds, round-robin over the profiles. Each is an
assignment decision (a new conversation given to the least-loaded moderator, and with it the
profile when free): the latency is from the POST to the moderator's push; decisions per second
are the new conversations assigned over the phase (from the first POST to the last push); the
queue panels every decision refreshes are counted as they arrive on the sockets.

Server CPU per message = CPU time used by the gunicorn worker processes during the phase /
messages sent. Database and Redis CPU = the PostgreSQL backends serving our database (those
that came and went during the phase too: new backends are counted and reported) and our Redis
server; with the load generator they are ours, and only the rest of the machine's CPU counts as
other programs' load (a phase repeated when it was above --busy-threshold). The load generator
runs on the same machine and shares its CPUs.

    python bench/push_latency.py --moderators 200 --rate 50 --duration 20
    DATABASE_URL=postgresql://... REDIS_URL=redis://... python bench/push_latency.py --setup services \
        --moderators 1000 --rate 100
    DATABASE_URL=postgresql://... REDIS_URL=redis://... python bench/push_latency.py --setup services \
        --moderators 1000 --first-messages 50,100,200 --rate 0      # first messages only
"""
from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import phases  # noqa: E402
from http_clients import HTTPPool  # noqa: E402
from login import USER_AGENT, Cookies, check_login  # noqa: E402
from project import ROOT  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import create_profiles, create_users  # noqa: E402
from servers import Server, raise_nofile, running_server, server_env  # noqa: E402


def parse_args(argv=None):
    def own(p):
        p.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
        p.add_argument("--profiles", type=int, default=None,
                       help="profiles the conversations are spread over (default: one per moderator, so every "
                            "moderator's socket receives)")
        p.add_argument("--first-messages", type=rates, default=[], metavar="RATE[,RATE...]",
                       help="first-message phases (new clients, assignment decisions) at these rates, in turn")
        p.add_argument("--first-duration", type=float, default=10.0, help="seconds of each first-message phase")
        p.add_argument("--redis-max-connections", type=int, default=None,
                       help="diagnosis: the server's Redis connection cap (REDIS_MAX_CONNECTIONS and REDIS_URL's query)")

    return phases.checked(phases.arguments(__doc__.split("\n")[0], own,
                                           "first messages (which assign conversations) posted at once"), argv)


def rates(text: str) -> list[float]:
    return [float(r) for r in text.split(",") if r.strip()]


class Run(phases.Stamps):
    def __init__(self, args, server: Server, mod_cookies: list[str], conversations: list[tuple[str, str, int]],
                 first: list[tuple[str, str, int]] = ()):
        super().__init__()
        self.args = args
        self.server = server
        self.mod_cookies = mod_cookies
        self.conversations = conversations  # (cookie, csrf, profile_id)
        self.first = list(first)  # new clients' first messages (cookie, csrf, profile_id), in order
        self.closed_sockets: Counter = Counter()
        self.sockets = []

    # -- sockets ----------------------------------------------------------------------------
    async def open_sockets(self, concurrency: int = 50):
        from websockets.asyncio.client import connect

        sem = asyncio.Semaphore(concurrency)
        origin = self.server.url

        async def one(k: int, cookie: str):
            async with sem:
                ws = await connect(self.server.ws_url, origin=origin, additional_headers={"Cookie": cookie},
                                   user_agent_header=USER_AGENT, proxy=None, open_timeout=60,
                                   ping_interval=None, close_timeout=2, max_size=None)
            self.sockets.append(ws)
            asyncio.get_running_loop().create_task(self.receive(k, ws))

        await asyncio.gather(*(one(k, c) for k, c in enumerate(self.mod_cookies)))

    async def receive(self, k: int, ws):
        from websockets.exceptions import ConnectionClosed

        try:
            async for frame in ws:
                self.saw(frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame, k)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            self.closed_sockets[code] += 1

    async def close_sockets(self):
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)

    # -- posting ----------------------------------------------------------------------------
    async def post(self, pool: HTTPPool, phase: str, seq: int, conv: int):
        await self._post(pool, phase, seq, *self.conversations[conv])

    async def post_first(self, pool: HTTPPool, phase: str, seq: int, k: int):
        """The first message of new client ``k``, with the field the client's page adds when it shows
        no conversation yet (``opens``)."""
        await self._post(pool, phase, seq, *self.first[k], opens=True)

    async def _post(self, pool: HTTPPool, phase: str, seq: int, cookie: str, csrf: str, profile_id: int,
                    opens: bool = False):
        fields = {"body": f"bench {self.marker(phase, seq)} bonjour", "client_token": uuid.uuid4().hex}
        body = urlencode({**fields, "opens": "1"} if opens else fields)
        headers = {"Cookie": cookie, "X-CSRFToken": csrf, "HX-Request": "true", "User-Agent": USER_AGENT,
                   "Content-Type": "application/x-www-form-urlencoded"}
        await self.send(pool, (phase, seq), f"/profiles/{profile_id}/messages", headers, body)


async def run_async(args, setup: Setup, server: Server, run: Run) -> dict:
    loop = asyncio.get_running_loop()
    n_conv = len(run.conversations)
    t = time.monotonic()
    await run.open_sockets()
    open_s = time.monotonic() - t
    deadline = time.monotonic() + 60
    online = 0
    while time.monotonic() < deadline:
        online = await loop.run_in_executor(None, online_count, setup)
        if online >= args.moderators:
            break
        await asyncio.sleep(0.25)
    print(f"  {len(run.sockets)} moderator sockets open in {open_s:.1f} s; {online} moderators online", flush=True)
    if online < args.moderators:
        raise RuntimeError(f"only {online}/{args.moderators} moderators came online")

    pool = HTTPPool(server.port, size=args.http_connections)
    result = {}
    if args.first_messages:
        result["first_messages"] = await first_message_phases(args, setup, server, run, pool)
    if args.rate > 0:
        # Warm-up: one message per conversation, one at a time by default, so that each sees the previous
        # assignment committed and the least-loaded rule gives every moderator a conversation.
        warmed = await phases.warm_up(run, pool, n_conv, args.warmup_concurrency)
        spread = await loop.run_in_executor(None, assignment_spread, setup)
        print(f"  warm-up: {warmed}; per moderator {spread}", flush=True)
        result.update(await phases.measured(args, setup, server, run, pool, n_conv, extra=lambda run, ok_keys: {
            "sockets_closed_by_server": {str(k): v for k, v in run.closed_sockets.items()}}))
        result["conversations_per_moderator"] = spread
    result["socket_open_seconds"] = round(open_s, 2)
    pool.close()
    await run.close_sockets()
    return result


async def first_message_phases(args, setup: Setup, server: Server, run: Run, pool: HTTPPool) -> dict:
    """One phase per rate of ``--first-messages``: new clients' first messages, open loop, each
    an assignment decision. Not repeated when other programs loaded the CPUs (its clients and
    free profiles are used up): their load is reported."""
    from cpu_accounting import wait_for_quiet

    loop = asyncio.get_running_loop()
    results = {}
    offset = 0
    for rate in args.first_messages:
        quiet = await loop.run_in_executor(None, wait_for_quiet, args.quiet_wait, args.busy_threshold)
        before = await loop.run_in_executor(None, assignment_counts, setup)
        base = offset
        result = await phases.measure(
            args, setup, server, run, pool, list(range(len(run.first))), offset, rate=rate,
            duration=args.first_duration, phase="f",
            post=lambda pool_, phase_, seq, i: run.post_first(pool_, phase_, seq, base + i))
        after = await loop.run_in_executor(None, assignment_counts, setup)
        keys = [("f", base + i) for i in range(result["sent"]) if ("f", base + i) in run.arrived]
        span = (max(run.arrived[k][0] for k in keys) - min(run.sent_at[k] for k in keys)) if keys else 0.0
        decisions = after["new_assignments"] - before["new_assignments"]
        result.update({
            "rate": rate, "quiet_before": quiet,
            "decisions": decisions,
            "profiles_handed_out": after["profiles_held"] - before["profiles_held"],
            "left_unassigned": after["unassigned"],
            "decisions_per_s": round(decisions / span, 1) if span else None,
            "queue_panels_per_decision": round(result["queue_panels_received"] / max(1, decisions), 2),
            "server_cpu_ms_per_decision": round(result["server_cpu_ms_per_msg"] * result["sent"] / max(1, decisions), 3),
            "conversations_per_moderator": await loop.run_in_executor(None, assignment_spread, setup),
        })
        lat = result["latency"]
        print(f"  first messages at {rate:g}/s: p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms; "
              f"{decisions} decisions, {result['decisions_per_s']}/s; queue panels {result['queue_panels_received']} "
              f"({result['queue_panels_per_decision']}/decision); server CPU {result['server_cpu_ms_per_decision']} "
              f"ms/decision, database+Redis {result['db_and_redis_cpu_ms_per_msg']} ms/msg, new backends "
              f"{result['database_and_redis'].get('postgres_new_sessions')}; other programs "
              f"{result['other_programs_cpu_cores']} cores", flush=True)
        name = f"{rate:g}" if f"{rate:g}" not in results else f"{rate:g} (phase {len(results) + 1})"
        results[name] = result  # a rate given twice: its later phases named by their place
        offset += result["sent"]
    return results


def assignment_counts(setup: Setup) -> dict:
    """New-conversation assignments recorded so far, profiles held, conversations still waiting for a moderator."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import AssignmentChange, ChangeReason, Conversation, ProfileAssignment

    with setup.app.app_context():
        new = db.session.scalar(select(func.count()).select_from(AssignmentChange)
                                .where(AssignmentChange.reason == ChangeReason.NEW))
        held = db.session.scalar(select(func.count()).select_from(ProfileAssignment))
        unassigned = db.session.scalar(select(func.count()).select_from(Conversation)
                                       .where(Conversation.assigned_moderator_id.is_(None)))
        db.session.remove()
    return {"new_assignments": new, "profiles_held": held, "unassigned": unassigned}


def online_count(setup: Setup) -> int:
    """Moderators marked online in the database (the run waits for all of them)."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Role, User

    with setup.app.app_context():
        n = db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.MODERATOR,
                                                                             User.is_online.is_(True)))
        db.session.remove()
    return n


def assignment_spread(setup: Setup) -> dict:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Conversation

    with setup.app.app_context():
        rows = db.session.execute(select(Conversation.assigned_moderator_id, func.count())
                                  .group_by(Conversation.assigned_moderator_id)).all()
        db.session.remove()
    counts = [c for m, c in rows if m is not None]
    return {"moderators": len(counts), "min": min(counts, default=0), "max": max(counts, default=0),
            "unassigned": sum(c for m, c in rows if m is None)}


def main(argv=None) -> int:
    args = parse_args(argv)
    raise_nofile()
    n = args.moderators
    n_profiles = args.profiles or n
    n_first = sum(int(round(r * args.first_duration)) for r in args.first_messages)
    print(f"push_latency: setup={args.setup} moderators={n} profiles={n_profiles} rate={args.rate}/s "
          f"duration={args.duration}s first messages={args.first_messages} ({args.first_duration}s each) "
          f"workers={args.workers}", flush=True)
    with Setup(args.setup) as setup:
        setup.prepare()
        mods = create_users(setup, "moderator", n, "bench-mod")
        clients = create_users(setup, "client", n, "bench-client")
        first_clients = create_users(setup, "client", n_first, "bench-first")
        profiles = create_profiles(setup, n_profiles)
        cookies = Cookies(setup.app)
        mod_cookies = [cookies.for_user(uid)[0] for uid in mods]
        conversations = [(*cookies.for_user(uid), profiles[i % len(profiles)]) for i, uid in enumerate(clients)]
        first = [(*cookies.for_user(uid), profiles[i % len(profiles)]) for i, uid in enumerate(first_clients)]
        env = server_env(setup, args.blocking_report, args.redis_max_connections)
        with running_server(Server(setup, workers=args.workers, **env)) as server:
            check_login(server.url, mod_cookies[0], "/moderateur")
            check_login(server.url, conversations[0][0], "/profiles")
            run = Run(args, server, mod_cookies, conversations, first)
            result = asyncio.run(run_async(args, setup, server, run))
        result.update(server.report())
        setup_desc = setup.describe()

    key = f"{args.setup}-N{n}-R{args.rate:g}-w{args.workers}"
    if args.profiles:
        key += f"-P{args.profiles}"
    if args.first_messages:
        key += "-first" + "_".join(f"{r:g}" for r in args.first_messages)
    if args.redis_max_connections:
        key += f"-redis_max_connections{args.redis_max_connections}"
    record = {"when": now_iso(), "app_commit": server.app_commit, "setup": setup_desc, "moderators": n,
              "profiles": n_profiles, "rate": args.rate, "duration_s": args.duration, "workers": args.workers,
              "first_message_rates": args.first_messages, "first_duration_s": args.first_duration,
              "redis_max_connections": args.redis_max_connections or "app default", "machine": machine(), **result}
    path = write_result("push_latency", key, record)
    summary = []
    ok = True
    for rate, first in result.get("first_messages", {}).items():
        lat = first["latency"]
        summary.append(f"first messages {rate}/s: p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, "
                       f"{first['decisions_per_s']} decisions/s, {first['queue_panels_per_decision']} queue panels/decision, "
                       f"delivered {first['delivered']}/{first['sent']}")
        ok = ok and first["delivered"] == first["sent"]
    if args.rate > 0:
        lat = result["latency"]
        print(f"  latency ms: p50 {lat['p50_ms']}  p95 {lat['p95_ms']}  p99 {lat['p99_ms']}  max {lat['max_ms']}")
        print(f"  delivered/sent: {result['delivered']}/{result['sent']} (HTTP {result['http_status']}), "
              f"moderators reached {result['moderators_reached']}/{n}, throughput {result['throughput_msg_per_s']} msg/s")
        http = result["http_post_roundtrip"]
        print(f"  POST round trip ms: p50 {http['p50_ms']}  p99 {http['p99_ms']}  max {http['max_ms']}; "
              f"other programs used {result['other_programs_cpu_cores']} cores during the run")
        print(f"  server CPU {result['server_cpu_ms_per_msg']} ms/msg (worker {result['server_cpu_util'] * 100:.0f}% "
              f"of a core); database+Redis {result['db_and_redis_cpu_ms_per_msg']} ms/msg "
              f"({result['database_and_redis']}); client {result['client_cpu_ms_per_msg']} ms/msg; "
              f"server errors {result.get('server_errors')}")
        if result["failures"]:
            print("  failures:", *result["failures"], sep="\n    ")
        summary.append(
            f"p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms, "
            f"delivered {result['delivered']}/{result['sent']}, moderators reached {result['moderators_reached']}, "
            f"server CPU {result['server_cpu_ms_per_msg']} ms/msg, database+Redis "
            f"{result['db_and_redis_cpu_ms_per_msg']} ms/msg, new backends "
            f"{result['database_and_redis'].get('postgres_new_sessions')}"
            f"{'; OTHER PROGRAMS LOADED THE CPUS: ' + str(result['other_programs_cpu_cores']) + ' cores' if result['foreign_load_during_run'] else ''}")
        ok = ok and result["delivered"] == result["sent"]
    print(f"SUMMARY push_latency {key}: {'; '.join(summary)} (client on same machine) -> {path.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
