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
loaded the CPUs during it (the CPU of the PostgreSQL backends serving its database, those that
came and went too, and of its Redis server is the run's own). Server CPU per message = CPU time of
the gunicorn worker process during the measured phase / messages sent; the load generator shares
the machine's CPUs.

    python bench/peer_socketio.py --moderators 200 --rate 50 --duration 20 --setup embedded
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench REDIS_URL=redis://127.0.0.1:6379/12 \\
        .venv/bin/python bench/peer_socketio.py --setup services

The peer's table is ``peer_messages`` (created by the peer at start, emptied at each run start);
its Redis traffic is pub/sub on a channel of its own per run (no keys).
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections import Counter
from importlib import metadata
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import phases  # noqa: E402
from http_clients import HTTPPool  # noqa: E402
from login import USER_AGENT  # noqa: E402
from project import PYTHON, ROOT  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from server_log import ServerLog  # noqa: E402
from servers import Server, raise_nofile, running_server, server_env  # noqa: E402

TABLE = "peer_messages"


def parse_args(argv=None):
    return phases.checked(phases.arguments(__doc__.split("\n")[0]), argv)


# -- the peer's server ------------------------------------------------------------------------
def control_socket_flag() -> list[str]:
    """Recent gunicorn releases open a control socket unless told not to; older ones do not know
    the flag, so it is passed only when this gunicorn lists it."""
    help_text = subprocess.run([PYTHON, "-m", "gunicorn", "--help"], capture_output=True, text=True,
                               timeout=30).stdout
    return ["--no-control-socket"] if "--no-control-socket" in help_text else []


def peer_versions() -> dict[str, str]:
    """What the peer ran on (recorded with each result, in place of Switchboard's commit)."""
    names = ("Flask-SocketIO", "python-socketio", "python-engineio", "simple-websocket", "gunicorn", "gevent",
             "Flask", "Flask-SQLAlchemy", "SQLAlchemy", "psycopg", "redis", "aiohttp")
    return {name: metadata.version(name) for name in names}


class PeerServer(Server):
    """``gunicorn -k gevent -w 1`` serving bench/peer_app on a free port; started, measured and
    stopped as Switchboard's own server is (servers.Server)."""

    name = "peer"
    ready_path = "/healthz"

    def __init__(self, setup: Setup, channel: str, **extra_env):
        super().__init__(setup, workers=1, PEER_CHANNEL=channel, **extra_env)
        self.log = ServerLog(setup.tmp / f"peer-{self.port}.log")
        # keep-alive 5 s like Switchboard's gunicorn.conf.py: the HTTP client reuses idle connections up to 3 s.
        self.gunicorn_args = ["-k", "gevent", "-w", "1", "--worker-connections", "10000", *control_socket_flag(),
                              "--keep-alive", "5", "--log-level", "warning", "--bind", f"127.0.0.1:{self.port}",
                              "--chdir", "bench", "peer_app.app:app"]

    def error_counts(self) -> dict:
        """Problems the peer logged: tracebacks and python-socketio's Redis retries."""
        return {"tracebacks": self.log.count("Traceback"),
                "redis_publish_errors": self.log.count("Cannot publish to redis"),
                "redis_receive_errors": self.log.count("Cannot receive from redis")}


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
class Run(phases.Stamps):
    def __init__(self, args, server: PeerServer):
        super().__init__()
        self.args = args
        self.server = server
        n = args.moderators
        self.conversations = [i % n for i in range(n)]  # conversation i -> its moderator
        self.expected_moderator: dict[tuple[str, int], int] = {}
        self.disconnects: Counter = Counter()
        self.clients = []

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
                                  headers={"User-Agent": USER_AGENT}, wait_timeout=60)
            self.clients.append(sio)

        await asyncio.gather(*(one(k) for k in range(self.args.moderators)))

    def receiver(self, k: int):
        """The 'message' handler of moderator k's socket: stamps the markers it carries."""
        def receive(fragment: str):
            self.saw(fragment, k)

        return receive

    def on_disconnect(self, reason):
        """Counted while the sockets are meant to be open (closing them ourselves is not)."""
        self.disconnects[str(reason)] += 1

    async def close_sockets(self):
        await asyncio.gather(*(sio.disconnect() for sio in self.clients), return_exceptions=True)

    # -- posting ----------------------------------------------------------------------------
    async def post(self, pool: HTTPPool, phase: str, seq: int, conv: int):
        moderator = self.conversations[conv]
        key = (phase, seq)
        self.expected_moderator[key] = moderator
        body = urlencode({"body": f"bench {self.marker(phase, seq)} bonjour", "moderator": moderator})
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
        await self.send(pool, key, "/messages", headers, body)


async def run_async(args, setup: Setup, server: PeerServer, run: Run) -> dict:
    n_conv = len(run.conversations)
    t = time.monotonic()
    await run.open_sockets()
    open_s = time.monotonic() - t
    print(f"  {len(run.clients)} moderator sockets open (each in its room) in {open_s:.1f} s", flush=True)

    pool = HTTPPool(server.port, size=args.http_connections)
    # Warm-up: one message per conversation (so every room has carried one before measuring).
    print(f"  warm-up: {await phases.warm_up(run, pool, n_conv, args.warmup_concurrency)}", flush=True)
    result = await phases.measured(args, setup, server, run, pool, n_conv, extra=lambda run, ok_keys: {
        "arrived_at_wrong_moderator": sum(1 for k in ok_keys
                                          if k in run.arrived and run.arrived[k][1] != run.expected_moderator[k]),
        "sockets_disconnected": dict(run.disconnects)})
    result["socket_open_seconds"] = round(open_s, 2)
    pool.close()
    await run.close_sockets()
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    raise_nofile()
    n = args.moderators
    print(f"push_latency_peer: setup={args.setup} moderators={n} rate={args.rate}/s duration={args.duration}s "
          f"workers=1", flush=True)
    with Setup(args.setup) as setup:
        channel = f"switchboard-peer-{uuid.uuid4().hex[:8]}"
        with running_server(PeerServer(setup, channel, **server_env(setup, args.blocking_report))) as server:
            empty_table(setup.env["DATABASE_URL"])
            run = Run(args, server)
            result = asyncio.run(run_async(args, setup, server, run))
            result["rows_inserted"] = run_sql(setup.env["DATABASE_URL"], f"SELECT count(*) FROM {TABLE}")
        result.update(server.report())
        setup_desc = setup.describe()

    lat = result["latency"]
    key = f"{args.setup}-N{n}-R{args.rate:g}-w1"
    record = {"when": now_iso(), "peer": "Flask-SocketIO + Redis message queue, gunicorn -k gevent -w 1",
              "peer_versions": peer_versions(), "gunicorn_command": " ".join(["gunicorn", *server.gunicorn_args]),
              "setup": setup_desc, "moderators": n, "rate": args.rate, "duration_s": args.duration, "workers": 1,
              "machine": machine(), **result}
    path = write_result("push_latency_peer", key, record)
    print(f"  latency ms: p50 {lat['p50_ms']}  p95 {lat['p95_ms']}  p99 {lat['p99_ms']}  max {lat['max_ms']}")
    print(f"  delivered/sent: {result['delivered']}/{result['sent']} (HTTP {result['http_status']}), "
          f"moderators reached {result['moderators_reached']}/{n}, wrong moderator "
          f"{result['arrived_at_wrong_moderator']}, throughput {result['throughput_msg_per_s']} msg/s")
    http = result["http_post_roundtrip"]
    print(f"  POST round trip ms: p50 {http['p50_ms']}  p99 {http['p99_ms']}  max {http['max_ms']}; "
          f"other programs used {result['other_programs_cpu_cores']} cores during the run")
    print(f"  server CPU {result['server_cpu_ms_per_msg']} ms/msg (worker {result['server_cpu_util'] * 100:.0f}% "
          f"of a core); database+Redis {result['db_and_redis_cpu_ms_per_msg']} ms/msg ({result['database_and_redis']}); "
          f"client {result['client_cpu_ms_per_msg']} ms/msg; sockets disconnected {result['sockets_disconnected']}; "
          f"server errors {result['server_errors']}; rows {result['rows_inserted']}")
    if result["failures"]:
        print("  failures:", *result["failures"], sep="\n    ")
    foreign = (f" (OTHER PROGRAMS LOADED THE CPUS: {result['other_programs_cpu_cores']} cores)"
               if result["foreign_load_during_run"] else "")
    print(f"SUMMARY push_latency_peer {key}: p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, p99 {lat['p99_ms']} ms, "
          f"max {lat['max_ms']} ms, delivered {result['delivered']}/{result['sent']}, "
          f"server CPU {result['server_cpu_ms_per_msg']} ms/msg, database+Redis {result['db_and_redis_cpu_ms_per_msg']} "
          f"ms/msg, new backends {result['database_and_redis'].get('postgres_new_sessions')}{foreign} "
          f"-> {path.relative_to(ROOT)}")
    return 0 if result["delivered"] == result["sent"] else 1


if __name__ == "__main__":
    sys.exit(main())
