"""Push latency: client message POSTed over HTTP -> fragment on the moderator's WebSocket.

N moderators hold one socket each; N client/profile conversations are opened first (one
message each, one after the other so the least-loaded rule gives every moderator one), then
client messages are posted at R msg/s, open loop, round-robin over the conversations. Each body
carries a unique marker; the latency of a message is from just before its POST is written to
the first arrival of a fragment containing its marker on any moderator socket. HTTP and the
sockets run in one asyncio loop (no threads, so arrival stamps are not delayed by the GIL).

Server CPU per message = CPU time used by the gunicorn worker processes during the measured
phase / messages sent. The load generator runs on the same machine and shares its CPUs.

    python bench/push_latency.py --moderators 200 --rate 50 --duration 20
    DATABASE_URL=postgresql://... REDIS_URL=redis://... python bench/push_latency.py --setup services
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

MAX_DURATION = 600.0
MAX_MESSAGES = 200_000


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--moderators", type=int, default=200)
    p.add_argument("--rate", type=float, default=50.0, help="client messages per second")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of measured traffic")
    p.add_argument("--setup", choices=("embedded", "services"),
                   default="services" if os.environ.get("DATABASE_URL") else "embedded")
    p.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    p.add_argument("--profiles", type=int, default=50, help="profiles the conversations are spread over")
    p.add_argument("--http-connections", type=int, default=256,
                   help="keep-alive HTTP connections at most (high, so requests are not held back in the client)")
    p.add_argument("--warmup-concurrency", type=int, default=1,
                   help="first messages (which assign conversations) posted at once")
    p.add_argument("--drain", type=float, default=5.0, help="seconds to wait for late pushes")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--blocking-report", type=float, default=0.0, metavar="SECONDS",
                   help="have gevent's monitor thread log every hub block longer than this (0: off)")
    p.add_argument("--attempts", type=int, default=3,
                   help="measured phases at most: one is repeated when other programs loaded the CPUs during it")
    p.add_argument("--busy-threshold", type=float, default=0.3,
                   help="CPU cores other programs may use during a phase for it to count as clean")
    p.add_argument("--redis-max-connections", type=int, default=None,
                   help="diagnosis: the server's Redis connection cap (REDIS_MAX_CONNECTIONS and REDIS_URL's query)")
    p.add_argument("--quiet-wait", type=float, default=120.0,
                   help="wait at most this long for other programs to leave the CPUs idle before measuring")
    args = p.parse_args(argv)
    if not 1 <= args.attempts <= 5:
        p.error("--attempts is 1 to 5")
    if args.duration > MAX_DURATION or args.rate * args.duration > MAX_MESSAGES:
        p.error(f"at most {MAX_DURATION:.0f} s and {MAX_MESSAGES} messages")
    return args


class Run:
    def __init__(self, args, server: common.Server, mod_cookies: list[str], conversations: list[tuple[str, str, int]]):
        self.args = args
        self.server = server
        self.mod_cookies = mod_cookies
        self.conversations = conversations  # (cookie, csrf, profile_id)
        self.tag = uuid.uuid4().hex[:6]
        self.marker_re = re.compile(rf"mk{self.tag}([wm])(\d{{7}})z")
        self.sent_at: dict[tuple[str, int], float] = {}
        self.answered_at: dict[tuple[str, int], float] = {}
        self.scheduled_at: dict[tuple[str, int], float] = {}
        self.arrived: dict[tuple[str, int], tuple[float, int]] = {}
        self.status: Counter = Counter()
        self.failures: list[str] = []
        self.fragments = 0
        self.fragment_bytes = 0
        self.fragments_without_id = 0
        self.closed_sockets: Counter = Counter()
        self.sockets = []

    def marker(self, phase: str, seq: int) -> str:
        return f"mk{self.tag}{phase}{seq:07d}z"

    # -- sockets ----------------------------------------------------------------------------
    async def open_sockets(self, concurrency: int = 50):
        from websockets.asyncio.client import connect

        sem = asyncio.Semaphore(concurrency)
        origin = self.server.url

        async def one(k: int, cookie: str):
            async with sem:
                ws = await connect(self.server.ws_url, origin=origin, additional_headers={"Cookie": cookie},
                                   user_agent_header=common.USER_AGENT, proxy=None, open_timeout=60,
                                   ping_interval=None, close_timeout=2, max_size=None)
            self.sockets.append(ws)
            asyncio.get_running_loop().create_task(self.receive(k, ws))

        await asyncio.gather(*(one(k, c) for k, c in enumerate(self.mod_cookies)))

    async def receive(self, k: int, ws):
        from websockets.exceptions import ConnectionClosed

        try:
            async for frame in ws:
                now = time.perf_counter()
                if isinstance(frame, bytes):
                    frame = frame.decode("utf-8", "replace")
                self.fragments += 1
                self.fragment_bytes += len(frame)
                found = False
                for m in self.marker_re.finditer(frame):
                    key = (m.group(1), int(m.group(2)))
                    if key not in self.arrived:
                        self.arrived[key] = (now, k)
                    found = True
                if found and "data-msg-id=" not in frame:
                    self.fragments_without_id += 1
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            self.closed_sockets[code] += 1

    async def close_sockets(self):
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)

    # -- posting ----------------------------------------------------------------------------
    async def post(self, pool: common.HTTPPool, phase: str, seq: int, conv: int):
        cookie, csrf, profile_id = self.conversations[conv]
        body = urlencode({"body": f"bench {self.marker(phase, seq)} bonjour", "client_token": uuid.uuid4().hex})
        headers = {"Cookie": cookie, "X-CSRFToken": csrf, "HX-Request": "true", "User-Agent": common.USER_AGENT,
                   "Content-Type": "application/x-www-form-urlencoded"}
        key = (phase, seq)

        def stamp():
            self.sent_at[key] = time.perf_counter()

        try:
            status, data = await pool.request("POST", f"/profiles/{profile_id}/messages", headers, body.encode(),
                                              on_sent=stamp)
        except Exception as exc:  # noqa: BLE001 - counted and reported
            self.status["error"] += 1
            if len(self.failures) < 5:
                self.failures.append(f"{phase}{seq}: {exc!r}")
            return
        self.answered_at[key] = time.perf_counter()
        self.status[status] += 1
        if status != 200 and len(self.failures) < 5:
            self.failures.append(f"{phase}{seq}: HTTP {status}: {data[:300]!r}")

    async def wait_arrivals(self, keys, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(k in self.arrived for k in keys):
                return True
            await asyncio.sleep(0.05)
        return False


async def run_async(args, setup: common.Setup, server: common.Server, run: Run) -> dict:
    loop = asyncio.get_running_loop()
    n_conv = len(run.conversations)
    t = time.monotonic()
    await run.open_sockets()
    open_s = time.monotonic() - t
    deadline = time.monotonic() + 60
    online = 0
    while time.monotonic() < deadline:
        online = await loop.run_in_executor(None, common.online_count, setup)
        if online >= args.moderators:
            break
        await asyncio.sleep(0.25)
    print(f"  {len(run.sockets)} moderator sockets open in {open_s:.1f} s; {online} moderators online", flush=True)
    if online < args.moderators:
        raise RuntimeError(f"only {online}/{args.moderators} moderators came online")

    pool = common.HTTPPool(server.port, size=args.http_connections)
    # Warm-up: one message per conversation, one at a time by default, so that each sees the previous
    # assignment committed and the least-loaded rule gives every moderator a conversation.
    sem = asyncio.Semaphore(args.warmup_concurrency)

    async def warm(i):
        async with sem:
            await run.post(pool, "w", i, i)

    t = time.monotonic()
    await asyncio.gather(*(warm(i) for i in range(n_conv)))
    warm_ok = await run.wait_arrivals([("w", i) for i in range(n_conv)], 15)
    spread = await loop.run_in_executor(None, assignment_spread, setup)
    print(f"  warm-up: {n_conv} conversations in {time.monotonic() - t:.1f} s, status {dict(run.status)}, "
          f"pushed {'all' if warm_ok else sum(1 for k in run.arrived if k[0] == 'w')}; per moderator {spread}",
          flush=True)
    if run.status.get(200, 0) != n_conv:
        raise RuntimeError(f"warm-up failed: {dict(run.status)} {run.failures}")
    run.status.clear()

    # Measured phase, repeated (bounded) when other programs loaded the CPUs meanwhile.
    order = list(range(n_conv))
    random.Random(args.seed).shuffle(order)
    rejected = []
    for attempt in range(args.attempts):
        quiet = await loop.run_in_executor(None, common.wait_for_quiet, args.quiet_wait, args.busy_threshold)
        result = await measure(args, setup, server, run, pool, order, attempt * 1_000_000)
        result["quiet_before"] = quiet
        if result["other_programs_cpu_cores"] <= args.busy_threshold or attempt == args.attempts - 1:
            break
        lat = result["latency"]
        print(f"  attempt {attempt + 1} discarded: other programs used {result['other_programs_cpu_cores']} cores "
              f"(p50 {lat['p50_ms']} p99 {lat['p99_ms']} ms)", flush=True)
        rejected.append({k: result[k] for k in ("latency", "other_programs_cpu_cores", "server_cpu_ms_per_msg",
                                                 "delivered", "sent")})
    result["attempts_discarded_for_foreign_load"] = rejected
    result["foreign_load_during_run"] = result["other_programs_cpu_cores"] > args.busy_threshold
    result["conversations_per_moderator"] = spread
    result["socket_open_seconds"] = round(open_s, 2)
    pool.close()
    await run.close_sockets()
    return result


async def measure(args, setup, server, run: Run, pool, order, seq0: int) -> dict:
    """One measured phase: open loop at args.rate, round-robin over shuffled conversations."""
    loop = asyncio.get_running_loop()
    n_conv = len(order)
    run.status.clear()
    run.failures.clear()
    total = int(round(args.rate * args.duration))
    gc.collect()
    gc.freeze()
    gc.disable()  # the load generator must not pause in the middle of the phase (its stamps would)
    cpu0, own0, redis0 = server.cpu_seconds(), common.own_cpu(), common.process_cpu(setup.redis_pid())
    busy0, services0 = common.machine_busy_seconds(), common.services_cpu_snapshot(setup.database_name)
    frag0, retried0 = run.fragments, pool.retried
    start = time.perf_counter()
    tasks = []
    lag_max = 0.0
    for i in range(total):
        target = start + i / args.rate
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lag_max = max(lag_max, time.perf_counter() - target)
        run.scheduled_at[("m", seq0 + i)] = target
        tasks.append(loop.create_task(run.post(pool, "m", seq0 + i, order[i % n_conv])))
    await asyncio.gather(*tasks)
    ok_keys = [("m", seq0 + i) for i in range(total) if ("m", seq0 + i) in run.answered_at]
    await run.wait_arrivals(ok_keys, args.drain)
    cpu1, own1, redis1 = server.cpu_seconds(), common.own_cpu(), common.process_cpu(setup.redis_pid())
    busy1, services_s = common.machine_busy_seconds(), common.services_cpu_delta(services0, setup.database_name)
    elapsed = time.perf_counter() - start
    gc.enable()
    gc.unfreeze()

    lat = [(run.arrived[k][0] - run.sent_at[k]) * 1000 for k in ok_keys if k in run.arrived]
    http = [(run.answered_at[k] - run.sent_at[k]) * 1000 for k in ok_keys]
    # Open-loop view: from when the message was due, so time spent waiting in the client counts too.
    due = [(run.arrived[k][0] - run.scheduled_at[k]) * 1000 for k in ok_keys if k in run.arrived]
    last_answer = max((run.answered_at[k] for k in ok_keys), default=start)
    # Slowest seconds of the run: when the tail happened (seconds from the start of the phase).
    by_second: dict[int, float] = {}
    for k in ok_keys:
        if k in run.arrived:
            sec = int(run.sent_at[k] - start)
            by_second[sec] = max(by_second.get(sec, 0.0), (run.arrived[k][0] - run.sent_at[k]) * 1000)
    worst_seconds = sorted(by_second.items(), key=lambda kv: -kv[1])[:5]
    # Everything else on the machine: other people's programs (the database and Redis are ours).
    other_cores = ((busy1 - busy0) - (cpu1 - cpu0) - (own1 - own0) - services_s) / elapsed
    reached = len({run.arrived[k][1] for k in ok_keys if k in run.arrived})
    sent_ok = run.status.get(200, 0)
    return {
        "latency": common.latency_summary(lat),
        "latency_from_due_time": common.latency_summary(due),
        "http_post_roundtrip": common.latency_summary(http),
        "worst_seconds": [{"second": s_, "max_ms": round(v, 1)} for s_, v in worst_seconds],
        "other_programs_cpu_cores": round(other_cores, 2),
        "sent": total,
        "http_200": sent_ok,
        "http_status": {str(k): v for k, v in run.status.items()},
        "delivered": len(lat),
        "lost": sent_ok - len(lat),
        "moderators_reached": reached,
        "throughput_msg_per_s": round(len(ok_keys) / max(1e-9, last_answer - start), 1),
        "max_send_lag_ms": round(lag_max * 1000, 2),
        "server_cpu_ms_per_msg": round((cpu1 - cpu0) * 1000 / max(1, total), 3),
        "server_cpu_util": round((cpu1 - cpu0) / elapsed, 3),
        "redis_cpu_ms_per_msg": round((redis1 - redis0) * 1000 / max(1, total), 3) if setup.redis_pid() else None,
        "db_and_redis_cpu_ms_per_msg": round(services_s * 1000 / max(1, total), 3),
        "client_cpu_ms_per_msg": round((own1 - own0) * 1000 / max(1, total), 3),
        "fragments_received": run.fragments - frag0,
        "mean_fragment_bytes": round(run.fragment_bytes / max(1, run.fragments)),
        "fragments_with_marker_but_no_msg_id": run.fragments_without_id,
        "sockets_closed_by_server": {str(k): v for k, v in run.closed_sockets.items()},
        "http_connections_opened": pool.opened,
        "http_retried_on_closed_keepalive": pool.retried - retried0,
        "failures": list(run.failures),
    }


def assignment_spread(setup: common.Setup) -> dict:
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
    common.raise_nofile()
    n = args.moderators
    print(f"push_latency: setup={args.setup} moderators={n} rate={args.rate}/s duration={args.duration}s "
          f"workers={args.workers}", flush=True)
    setup = common.Setup(args.setup).prepare()
    server = None
    try:
        mods = common.create_users(setup, "moderator", n, "bench-mod")
        clients = common.create_users(setup, "client", n, "bench-client")
        profiles = common.create_profiles(setup, min(args.profiles, n))
        cookies = common.Cookies(setup.app)
        mod_cookies = [cookies.for_user(uid)[0] for uid in mods]
        conversations = []
        for i, uid in enumerate(clients):
            cookie, csrf = cookies.for_user(uid)
            conversations.append((cookie, csrf, profiles[i % len(profiles)]))
        extra = {}
        if args.blocking_report:
            extra = {"GEVENT_MONITOR_THREAD_ENABLE": "true", "GEVENT_MAX_BLOCKING_TIME": args.blocking_report}
        if args.redis_max_connections:
            extra["REDIS_URL"] = common.redis_url_with_cap(setup.env["REDIS_URL"], args.redis_max_connections)
            extra["REDIS_MAX_CONNECTIONS"] = args.redis_max_connections
        server = common.Server(setup, workers=args.workers, **extra).start()
        common.check_login(server.url, mod_cookies[0], "/moderateur")
        common.check_login(server.url, conversations[0][0], "/profiles")
        run = Run(args, server, mod_cookies, conversations)
        result = asyncio.run(run_async(args, setup, server, run))
    except BaseException:
        if server is not None:
            server.stop()
        setup.close()
        raise
    finally:
        if server is not None:
            server.stop()
    errors = server.log_count("Traceback") if server else 0
    result["server_tracebacks"] = errors
    if server is not None:
        result["server_errors"] = server.error_counts()
    if server is not None:
        result["server_log"] = str(server.log_path)
        result["gevent_blocking_reports"] = server.log_count("appears to be blocked")
    if errors:
        result["server_first_errors"] = server.first_tracebacks()
    setup_desc = setup.describe()
    setup.close()

    lat = result["latency"]
    key = f"{args.setup}-N{n}-R{args.rate:g}-w{args.workers}"
    if args.redis_max_connections:
        key += f"-redis_max_connections{args.redis_max_connections}"
    record = {"when": common.now_iso(), "app_commit": server.app_commit, "setup": setup_desc, "moderators": n, "rate": args.rate,
              "duration_s": args.duration, "workers": args.workers,
              "redis_max_connections": args.redis_max_connections or "app default", "machine": common.machine(), **result}
    path = common.write_result("push_latency", key, record)
    print(f"  latency ms: p50 {lat['p50_ms']}  p95 {lat['p95_ms']}  p99 {lat['p99_ms']}  max {lat['max_ms']}")
    print(f"  delivered/sent: {result['delivered']}/{result['sent']} (HTTP {result['http_status']}), "
          f"moderators reached {result['moderators_reached']}/{n}, throughput {result['throughput_msg_per_s']} msg/s")
    http = result["http_post_roundtrip"]
    print(f"  POST round trip ms: p50 {http['p50_ms']}  p99 {http['p99_ms']}  max {http['max_ms']}; "
          f"other programs used {result['other_programs_cpu_cores']} cores during the run")
    print(f"  server CPU {result['server_cpu_ms_per_msg']} ms/msg (worker {result['server_cpu_util'] * 100:.0f}% "
          f"of a core); database+Redis {result['db_and_redis_cpu_ms_per_msg']} ms/msg; "
          f"client {result['client_cpu_ms_per_msg']} ms/msg; server errors {result.get('server_errors')}")
    if result["failures"]:
        print("  failures:", *result["failures"], sep="\n    ")
    print(f"SUMMARY push_latency {key}: p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, p99 {lat['p99_ms']} ms, "
          f"max {lat['max_ms']} ms, delivered {result['delivered']}/{result['sent']}, "
          f"server CPU {result['server_cpu_ms_per_msg']} ms/msg (client on same machine"
          f"{'; OTHER PROGRAMS LOADED THE CPUS: ' + str(result['other_programs_cpu_cores']) + ' cores' if result['foreign_load_during_run'] else ''}"
          f") -> {path.relative_to(common.ROOT)}")
    return 0 if result["delivered"] == result["sent"] else 1


if __name__ == "__main__":
    sys.exit(main())
