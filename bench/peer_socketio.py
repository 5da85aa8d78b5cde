"""Push latency of the peer: Flask-SocketIO, measured exactly like bench/push_latency.py.

The peer (bench/peer_app/) is what a Flask developer would usually build instead of
Switchboard's push: Flask-SocketIO 5 on ``gunicorn -k gevent -w 1`` (WebSockets through
simple-websocket), a Redis message queue, and a view that inserts the message (PostgreSQL or an
SQLite file), renders a small fragment with Jinja and emits it to the moderator's room.

As in push_latency.py: N moderator sockets (python-socketio's AsyncClient, websocket transport
only) are opened first, each joining room ``mod-<k>``; N conversations post to them
(conversation i -> moderator i % N), one warm-up message per conversation, then messages are
posted at R msg/s, open loop, round-robin over the shuffled conversations. Each body carries a
unique marker; the latency of a message is from just before its POST is written to the arrival
of the fragment containing its marker at its moderator's socket client. HTTP and the sockets run
in one asyncio loop (no threads). The measured phase is repeated (bounded) when other programs
loaded the CPUs during it. Server CPU per message = CPU time of the gunicorn worker process
during the measured phase / messages sent; the load generator shares the machine's CPUs.

    python bench/peer_socketio.py --moderators 200 --rate 50 --duration 20 --setup embedded
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench REDIS_URL=redis://127.0.0.1:6379/12 \\
        .venv/bin/python bench/peer_socketio.py --setup services

The peer's table is ``peer_messages`` (created by the peer at start, emptied at each run start);
its Redis traffic is pub/sub on a channel of its own per run (no keys).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from importlib import metadata
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

TABLE = "peer_messages"
MAX_DURATION = 600.0
MAX_MESSAGES = 200_000


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--moderators", type=int, default=200)
    p.add_argument("--rate", type=float, default=50.0, help="client messages per second")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of measured traffic")
    p.add_argument("--setup", choices=("embedded", "services"),
                   default="services" if os.environ.get("DATABASE_URL") else "embedded")
    p.add_argument("--http-connections", type=int, default=256,
                   help="keep-alive HTTP connections at most (high, so requests are not held back in the client)")
    p.add_argument("--warmup-concurrency", type=int, default=1, help="warm-up messages posted at once")
    p.add_argument("--drain", type=float, default=5.0, help="seconds to wait for late pushes")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--blocking-report", type=float, default=0.0, metavar="SECONDS",
                   help="have gevent's monitor thread log every hub block longer than this (0: off)")
    p.add_argument("--attempts", type=int, default=3,
                   help="measured phases at most: one is repeated when other programs loaded the CPUs during it")
    p.add_argument("--busy-threshold", type=float, default=0.3,
                   help="CPU cores other programs may use during a phase for it to count as clean")
    p.add_argument("--quiet-wait", type=float, default=120.0,
                   help="wait at most this long for other programs to leave the CPUs idle before measuring")
    args = p.parse_args(argv)
    if not 1 <= args.attempts <= 5:
        p.error("--attempts is 1 to 5")
    if args.duration > MAX_DURATION or args.rate * args.duration > MAX_MESSAGES:
        p.error(f"at most {MAX_DURATION:.0f} s and {MAX_MESSAGES} messages")
    return args


# -- the peer's server ------------------------------------------------------------------------
def control_socket_flag() -> list[str]:
    """Recent gunicorn releases open a control socket unless told not to; older ones do not know
    the flag, so it is passed only when this gunicorn lists it."""
    help_text = subprocess.run([common.PYTHON, "-m", "gunicorn", "--help"], capture_output=True, text=True,
                               timeout=30).stdout
    return ["--no-control-socket"] if "--no-control-socket" in help_text else []


def peer_versions() -> dict[str, str]:
    """What the peer ran on (recorded with each result, in place of Switchboard's commit)."""
    names = ("Flask-SocketIO", "python-socketio", "python-engineio", "simple-websocket", "gunicorn", "gevent",
             "Flask", "Flask-SQLAlchemy", "SQLAlchemy", "psycopg", "redis", "aiohttp")
    return {name: metadata.version(name) for name in names}


class PeerServer(common.Server):
    """``gunicorn -k gevent -w 1`` serving bench/peer_app on a free port; worker CPU, logs and
    stopping as for Switchboard's own server (common.Server)."""

    def __init__(self, setup: common.Setup, channel: str, **extra_env):
        super().__init__(setup, workers=1, PEER_CHANNEL=channel, **extra_env)
        self.log_path = setup.tmp / f"peer-{self.port}.log"
        # keep-alive 5 s like Switchboard's gunicorn.conf.py: the HTTP client reuses idle connections up to 3 s.
        self.gunicorn_args = ["-k", "gevent", "-w", "1", "--worker-connections", "10000", *control_socket_flag(),
                              "--keep-alive", "5", "--log-level", "warning", "--bind", f"127.0.0.1:{self.port}",
                              "--chdir", "bench", "peer_app.app:app"]

    def start(self, timeout: float = 30.0) -> "PeerServer":
        import requests

        http = common.http_session()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([common.PYTHON, "-m", "gunicorn", *self.gunicorn_args], cwd=common.ROOT,
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}); see {self.log_path}:\n{self.log_tail()}")
            try:
                if http.get(self.url + "/healthz", timeout=2).status_code == 200 and len(self.worker_pids()) == 1:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"peer not ready on {self.url}:\n{self.log_tail()}")

    def error_counts(self) -> dict:
        """Problems the peer logged: tracebacks and python-socketio's Redis retries."""
        return {"tracebacks": self.log_count("Traceback"),
                "redis_publish_errors": self.log_count("Cannot publish to redis"),
                "redis_receive_errors": self.log_count("Cannot receive from redis")}


# -- the peer's table ---------------------------------------------------------------------------
def run_sql(url: str, statement: str):
    """One statement on the peer's database from this process; returns the first value, if any."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement))
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def empty_table(url: str) -> None:
    """Each run starts from an empty table (the peer creates it at start when missing)."""
    run_sql(url, f"DELETE FROM {TABLE}" if url.startswith("sqlite") else f"TRUNCATE {TABLE} RESTART IDENTITY")


# -- the run ------------------------------------------------------------------------------------
class Run:
    def __init__(self, args, server: PeerServer):
        self.args = args
        self.server = server
        n = args.moderators
        self.conversations = [i % n for i in range(n)]  # conversation i -> its moderator
        self.tag = uuid.uuid4().hex[:6]
        self.marker_re = re.compile(rf"mk{self.tag}([wm])(\d{{7}})z")
        self.sent_at: dict[tuple[str, int], float] = {}
        self.answered_at: dict[tuple[str, int], float] = {}
        self.scheduled_at: dict[tuple[str, int], float] = {}
        self.arrived: dict[tuple[str, int], tuple[float, int]] = {}
        self.expected_moderator: dict[tuple[str, int], int] = {}
        self.status: Counter = Counter()
        self.failures: list[str] = []
        self.fragments = 0
        self.fragment_bytes = 0
        self.fragments_without_id = 0
        self.disconnects: Counter = Counter()
        self.clients = []

    def marker(self, phase: str, seq: int) -> str:
        return f"mk{self.tag}{phase}{seq:07d}z"

    # -- sockets ----------------------------------------------------------------------------
    async def open_sockets(self, concurrency: int = 50):
        """One Socket.IO client per moderator, opened 50 at a time; connect() returns once the
        server's connect handler has run, i.e. once the socket is in its moderator's room."""
        import socketio

        sem = asyncio.Semaphore(concurrency)

        async def one(k: int):
            sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
            sio.on("message", self.receiver(k))
            sio.on("disconnect", self.on_disconnect)
            async with sem:
                await sio.connect(f"{self.server.url}?moderator={k}", transports=["websocket"],
                                  headers={"User-Agent": common.USER_AGENT}, wait_timeout=60)
            self.clients.append(sio)

        await asyncio.gather(*(one(k) for k in range(self.args.moderators)))

    def receiver(self, k: int):
        """The 'message' handler of moderator k's socket: stamps the markers it carries."""
        def receive(fragment: str):
            now = time.perf_counter()
            self.fragments += 1
            self.fragment_bytes += len(fragment)
            found = False
            for m in self.marker_re.finditer(fragment):
                key = (m.group(1), int(m.group(2)))
                if key not in self.arrived:
                    self.arrived[key] = (now, k)
                found = True
            if found and "data-msg-id=" not in fragment:
                self.fragments_without_id += 1

        return receive

    def on_disconnect(self, reason):
        """Counted while the sockets are meant to be open (closing them ourselves is not)."""
        self.disconnects[str(reason)] += 1

    async def close_sockets(self):
        await asyncio.gather(*(sio.disconnect() for sio in self.clients), return_exceptions=True)

    # -- posting ----------------------------------------------------------------------------
    async def post(self, pool: common.HTTPPool, phase: str, seq: int, conv: int):
        moderator = self.conversations[conv]
        key = (phase, seq)
        self.expected_moderator[key] = moderator
        body = urlencode({"body": f"bench {self.marker(phase, seq)} bonjour", "moderator": moderator})
        headers = {"User-Agent": common.USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}

        def stamp():
            self.sent_at[key] = time.perf_counter()

        try:
            status, data = await pool.request("POST", "/messages", headers, body.encode(), on_sent=stamp)
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


async def run_async(args, setup: common.Setup, server: PeerServer, run: Run) -> dict:
    loop = asyncio.get_running_loop()
    n_conv = len(run.conversations)
    t = time.monotonic()
    await run.open_sockets()
    open_s = time.monotonic() - t
    print(f"  {len(run.clients)} moderator sockets open (each in its room) in {open_s:.1f} s", flush=True)

    pool = common.HTTPPool(server.port, size=args.http_connections)
    # Warm-up: one message per conversation (so every room has carried one before measuring).
    sem = asyncio.Semaphore(args.warmup_concurrency)

    async def warm(i):
        async with sem:
            await run.post(pool, "w", i, i)

    t = time.monotonic()
    await asyncio.gather(*(warm(i) for i in range(n_conv)))
    warm_ok = await run.wait_arrivals([("w", i) for i in range(n_conv)], 15)
    print(f"  warm-up: {n_conv} conversations in {time.monotonic() - t:.1f} s, status {dict(run.status)}, "
          f"pushed {'all' if warm_ok else sum(1 for k in run.arrived if k[0] == 'w')}", flush=True)
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
    misrouted = sum(1 for k in ok_keys if k in run.arrived and run.arrived[k][1] != run.expected_moderator[k])
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
        "arrived_at_wrong_moderator": misrouted,
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
        "sockets_disconnected": dict(run.disconnects),
        "http_connections_opened": pool.opened,
        "http_retried_on_closed_keepalive": pool.retried - retried0,
        "failures": list(run.failures),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    common.raise_nofile()
    n = args.moderators
    print(f"push_latency_peer: setup={args.setup} moderators={n} rate={args.rate}/s duration={args.duration}s "
          f"workers=1", flush=True)
    setup = common.Setup(args.setup)
    server = None
    try:
        extra = {}
        if args.blocking_report:
            extra = {"GEVENT_MONITOR_THREAD_ENABLE": "true", "GEVENT_MAX_BLOCKING_TIME": args.blocking_report}
        server = PeerServer(setup, channel=f"switchboard-peer-{uuid.uuid4().hex[:8]}", **extra).start()
        empty_table(setup.env["DATABASE_URL"])
        run = Run(args, server)
        result = asyncio.run(run_async(args, setup, server, run))
        result["rows_inserted"] = run_sql(setup.env["DATABASE_URL"], f"SELECT count(*) FROM {TABLE}")
    except BaseException:
        if server is not None:
            server.stop()
        setup.close()
        raise
    finally:
        if server is not None:
            server.stop()
    errors = server.log_count("Traceback")
    result["server_tracebacks"] = errors
    result["server_errors"] = server.error_counts()
    result["server_log"] = str(server.log_path)
    result["gevent_blocking_reports"] = server.log_count("appears to be blocked")
    if errors:
        result["server_first_errors"] = server.first_tracebacks()
    setup_desc = setup.describe()
    setup.close()

    lat = result["latency"]
    key = f"{args.setup}-N{n}-R{args.rate:g}-w1"
    record = {"when": common.now_iso(), "peer": "Flask-SocketIO + Redis message queue, gunicorn -k gevent -w 1",
              "peer_versions": peer_versions(), "gunicorn_command": " ".join(["gunicorn", *server.gunicorn_args]),
              "setup": setup_desc, "moderators": n, "rate": args.rate, "duration_s": args.duration, "workers": 1,
              "machine": common.machine(), **result}
    path = common.write_result("push_latency_peer", key, record)
    print(f"  latency ms: p50 {lat['p50_ms']}  p95 {lat['p95_ms']}  p99 {lat['p99_ms']}  max {lat['max_ms']}")
    print(f"  delivered/sent: {result['delivered']}/{result['sent']} (HTTP {result['http_status']}), "
          f"moderators reached {result['moderators_reached']}/{n}, wrong moderator "
          f"{result['arrived_at_wrong_moderator']}, throughput {result['throughput_msg_per_s']} msg/s")
    http = result["http_post_roundtrip"]
    print(f"  POST round trip ms: p50 {http['p50_ms']}  p99 {http['p99_ms']}  max {http['max_ms']}; "
          f"other programs used {result['other_programs_cpu_cores']} cores during the run")
    print(f"  server CPU {result['server_cpu_ms_per_msg']} ms/msg (worker {result['server_cpu_util'] * 100:.0f}% "
          f"of a core); database+Redis {result['db_and_redis_cpu_ms_per_msg']} ms/msg; "
          f"client {result['client_cpu_ms_per_msg']} ms/msg; sockets disconnected {result['sockets_disconnected']}; "
          f"server errors {result['server_errors']}; rows {result['rows_inserted']}")
    if result["failures"]:
        print("  failures:", *result["failures"], sep="\n    ")
    foreign = (f" (OTHER PROGRAMS LOADED THE CPUS: {result['other_programs_cpu_cores']} cores)"
               if result["foreign_load_during_run"] else "")
    print(f"SUMMARY push_latency_peer {key}: p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, p99 {lat['p99_ms']} ms, "
          f"max {lat['max_ms']} ms, delivered {result['delivered']}/{result['sent']}, "
          f"server CPU {result['server_cpu_ms_per_msg']} ms/msg{foreign} -> {path.relative_to(common.ROOT)}")
    return 0 if result["delivered"] == result["sent"] else 1


if __name__ == "__main__":
    sys.exit(main())
