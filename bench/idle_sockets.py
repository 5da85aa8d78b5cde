"""Idle sockets: what one web worker's memory grows by for each open, idle, authenticated socket.

The production server (``gunicorn -c gunicorn.conf.py``, one gevent worker) and distinct users,
moderators and clients (minted session cookies), each with its page's WebSocket open and nothing
sent. A few sockets are opened and closed first (whatever the first socket loads or starts stays
out of the per-socket figure); then the worker's memory is read with no socket, and again once
each level's sockets have been held open longer than the per-socket heartbeat (and the server's
pings). Memory is the worker's RSS, PSS and USS (``/proc/<pid>/smaps_rollup``); per socket is the
growth over the no-socket reading divided by the sockets still open.

``--trace`` asks the worker where the memory went instead (``MEMORY_REPORT_DIR`` in
gunicorn.conf.py): at each reading it writes a tracemalloc snapshot, live objects by type and its
greenlets' saved C stacks; the biggest growths per socket are printed and kept. Tracing makes the
worker bigger: a traced run's RSS is not a figure to compare.

    python bench/idle_sockets.py                                 # 1,000 / 2,000 / 5,000 sockets
    DATABASE_URL=postgresql://... REDIS_URL=redis://.../5 python bench/idle_sockets.py --setup services
    python bench/idle_sockets.py --levels 1000 --trace           # where a socket's memory goes
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from login import USER_AGENT, Cookies, check_login  # noqa: E402
from project import ROOT  # noqa: E402
from result_files import RESULTS, machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import create_users  # noqa: E402
from servers import Server, raise_nofile, running_server  # noqa: E402

WARM_UP_SOCKETS = 20


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--levels", default="1000,2000,5000", help="idle socket counts to measure, ascending")
    p.add_argument("--moderator-share", type=float, default=0.5,
                   help="fraction of the sockets that are moderators' (the others are clients')")
    p.add_argument("--hold", type=float, default=40.0,
                   help="seconds each level is held before it is read (longer than the 30 s heartbeat)")
    p.add_argument("--setup", choices=("embedded", "services"),
                   default="services" if os.environ.get("DATABASE_URL") else "embedded")
    p.add_argument("--trace", action="store_true",
                   help="diagnosis: where the memory goes (tracemalloc in the worker); no RSS figures")
    p.add_argument("--frames", type=int, default=30, help="frames kept per traced allocation (--trace)")
    p.add_argument("--top", type=int, default=25, help="growths listed per reading (--trace)")
    args = p.parse_args(argv)
    args.levels = sorted(int(x) for x in args.levels.split(",") if x)
    if args.hold > 300 or args.levels[-1] > 20000 or not 0 <= args.moderator_share <= 1:
        p.error("at most 300 s of hold, 20,000 sockets, a share between 0 and 1")
    return args


class Sockets:
    def __init__(self, server: Server, cookies: list[str]):
        self.server, self.cookies = server, cookies
        self.open: list = []
        self.closed: Counter = Counter()
        self.frames = 0

    async def connect(self, cookie: str):
        from websockets.asyncio.client import connect

        # No compression offered or not, as a browser would offer it: the server turns it off.
        return await connect(self.server.ws_url, origin=self.server.url, additional_headers={"Cookie": cookie},
                             user_agent_header=USER_AGENT, proxy=None, open_timeout=120,
                             ping_interval=None, close_timeout=2, max_size=None)

    async def open_upto(self, upto: int, concurrency: int = 100) -> Counter:
        sem = asyncio.Semaphore(concurrency)
        failures = Counter()

        async def one(i):
            async with sem:
                try:
                    ws = await self.connect(self.cookies[i])
                except Exception as exc:  # noqa: BLE001 - counted
                    failures[type(exc).__name__ + ": " + str(exc)[:80]] += 1
                    return
            self.open.append(ws)
            asyncio.get_running_loop().create_task(self.watch(ws))

        await asyncio.gather(*(one(i) for i in range(len(self.open), upto)))
        return failures

    async def watch(self, ws):
        """Idle: nothing but pings should arrive (the client library answers them)."""
        from websockets.exceptions import ConnectionClosed

        try:
            async for _ in ws:
                self.frames += 1
        except ConnectionClosed as exc:
            self.closed[exc.rcvd.code if exc.rcvd else None] += 1

    def live(self) -> int:
        return len(self.open) - sum(self.closed.values())


class Tracer:
    """Reads the worker's memory reports (``MEMORY_REPORT_DIR``, on SIGUSR2)."""

    def __init__(self, server: Server, directory: Path, top: int):
        self.server, self.directory, self.top = server, directory, top
        self.reports: list[tuple[Path, dict]] = []

    async def take(self) -> dict:
        (pid,) = self.server.worker_pids()
        n = len(self.reports)
        done = self.directory / f"worker-{pid}-{n}.json"
        os.kill(pid, signal.SIGUSR2)
        deadline = time.monotonic() + 300
        while not done.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no memory report from the worker in {done}")
            await asyncio.sleep(0.5)
        report = json.loads(done.read_text())
        self.reports.append((self.directory / f"worker-{pid}-{n}.tracemalloc", report))
        return report

    def growth(self, sockets: int) -> dict:
        """What the last report holds more than the first, per socket."""
        import tracemalloc

        (first_path, first), (last_path, last) = self.reports[0], self.reports[-1]
        per = max(1, sockets)
        old, new = tracemalloc.Snapshot.load(str(first_path)), tracemalloc.Snapshot.load(str(last_path))
        keep = tracemalloc.Filter(False, tracemalloc.__file__)
        old, new = old.filter_traces([keep]), new.filter_traces([keep])
        by_line = new.compare_to(old, "lineno")
        by_trace = new.compare_to(old, "traceback")
        traced = sum(s.size_diff for s in by_line)

        def where(traceback, depth=8) -> list[str]:
            innermost_first = list(traceback)[::-1]  # tracemalloc keeps the oldest frame first
            return [f"{_short(f.filename)}:{f.lineno}" for f in innermost_first[:depth]]

        def diff(a: dict, b: dict) -> dict:
            return {k: round((b.get(k, 0) - a.get(k, 0)) / per, 2) for k in b
                    if abs(b.get(k, 0) - a.get(k, 0)) >= per // 2}

        return {
            "traced_bytes_per_socket": round(traced / per),
            "top_lines": [{"bytes_per_socket": round(s.size_diff / per), "blocks_per_socket": round(s.count_diff / per, 2),
                           "at": where(s.traceback, 1)[0]} for s in by_line[:self.top]],
            "top_tracebacks": [{"bytes_per_socket": round(s.size_diff / per),
                                "blocks_per_socket": round(s.count_diff / per, 2),
                                "innermost_first": where(s.traceback, 12)}
                               for s in by_trace[:self.top]],
            "bytes_per_socket_by_owner": {owner: round(size / per) for owner, size in _by_owner(by_trace)},
            "objects_per_socket": diff(first["by_type"], last["by_type"]),
            "greenlets_per_socket": diff(first["greenlets"], last["greenlets"]),
            "greenlet_stack_saved_bytes_per_socket": diff(first["greenlet_stack_saved_bytes"],
                                                          last["greenlet_stack_saved_bytes"]),
        }


def _by_owner(by_trace) -> list[tuple[str, int]]:
    """Growth by what asked for it: the innermost frame's installed package (``gunicorn``,
    ``wsproto``...) or module of ours (``app/realtime/socket.py``); the standard library's own
    frames are passed over (a dict grown by ``json`` for Flask counts as Flask's)."""
    owners: Counter = Counter()
    for stat in by_trace:
        owner = "python"
        for frame in reversed(list(stat.traceback)):
            if "site-packages/" in frame.filename:
                owner = _short(frame.filename).split("/", 1)[0].removesuffix(".py")
                break
            if frame.filename.startswith(str(ROOT) + "/"):
                owner = _short(frame.filename)
                break
        owners[owner] += stat.size_diff
    return [(owner, size) for owner, size in owners.most_common() if size > 0]


def _short(filename: str) -> str:
    for marker in ("site-packages/", "python3.11/", str(ROOT) + "/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


async def run_async(args, server: Server, cookies: list[str], tracer: Tracer | None) -> dict:
    kb = lambda b: round(b / 1024, 1)  # noqa: E731
    mb = lambda b: round(b / 2**20, 1)  # noqa: E731

    # Whatever the first sockets load or start (the hub's subscription, lazily imported code) is
    # the worker's, not the sockets'.
    warm = Sockets(server, cookies[-WARM_UP_SOCKETS:])
    await warm.open_upto(WARM_UP_SOCKETS)
    await asyncio.sleep(1.0)
    await asyncio.gather(*(ws.close() for ws in warm.open), return_exceptions=True)
    await asyncio.sleep(3.0)

    base = server.worker_memory()
    result: dict = {"no_sockets": {k: mb(v) for k, v in base.items()}, "levels": []}
    print(f"  worker with no socket: RSS {mb(base['rss'])} MB, PSS {mb(base['pss'])} MB, USS {mb(base['uss'])} MB",
          flush=True)
    if tracer:
        await tracer.take()

    sockets = Sockets(server, cookies[:-WARM_UP_SOCKETS])
    for target in args.levels:
        started = time.monotonic()
        failures = await sockets.open_upto(target)
        took = time.monotonic() - started
        await asyncio.sleep(args.hold)
        mem, live = server.worker_memory(), sockets.live()
        level = {"sockets": target, "live_sockets": live, "open_seconds": round(took, 1), "held_seconds": args.hold,
                 "open_failures": dict(failures), "closed_by_server": sum(sockets.closed.values()),
                 **{f"worker_{k}_mb": mb(v) for k, v in mem.items()},
                 **{f"kb_per_socket_{k}": kb((mem[k] - base[k]) / max(1, live)) for k in mem}}
        print(f"  {live} of {target} sockets open (opened in {took:.1f} s, held {args.hold:g} s): worker RSS "
              f"{level['worker_rss_mb']} MB, PSS {level['worker_pss_mb']} MB, USS {level['worker_uss_mb']} MB; "
              f"per socket RSS {level['kb_per_socket_rss']} KB, USS {level['kb_per_socket_uss']} KB; "
              f"open failures {dict(failures) or 0}, closed by server {level['closed_by_server']}", flush=True)
        if tracer:
            await tracer.take()
            level["trace"] = tracer.growth(live)
            _print_trace(level["trace"])
        result["levels"].append(level)
    result["frames_received_while_idle"] = sockets.frames
    await asyncio.gather(*(ws.close() for ws in sockets.open), return_exceptions=True)
    return result


def _print_trace(trace: dict) -> None:
    print(f"    traced growth per socket: {trace['traced_bytes_per_socket']} bytes; greenlets per socket "
          f"{trace['greenlets_per_socket']}, their saved C stack per socket {trace['greenlet_stack_saved_bytes_per_socket']}")
    for line in trace["top_lines"][:15]:
        print(f"    {line['bytes_per_socket']:>7} B {line['blocks_per_socket']:>6} blocks  {line['at']}")
    owners = list(trace["bytes_per_socket_by_owner"].items())[:15]
    print("    bytes per socket by owner (innermost package or module of ours): "
          + ", ".join(f"{owner} {size}" for owner, size in owners))
    objects = sorted(trace["objects_per_socket"].items(), key=lambda kv: -kv[1])[:20]
    print("    objects per socket: " + ", ".join(f"{k.rsplit('.', 1)[-1]} {v}" for k, v in objects))


def main(argv=None) -> int:
    args = parse_args(argv)
    nofile = raise_nofile()
    total = args.levels[-1] + WARM_UP_SOCKETS
    print(f"idle_sockets: setup={args.setup} levels={args.levels} moderator share={args.moderator_share:g} "
          f"trace={args.trace} (open files limit {nofile})", flush=True)
    if nofile < total + 200:
        raise SystemExit(f"open files limit {nofile} is too low for {total} sockets")
    with Setup(args.setup) as setup:
        setup.prepare()
        moderators = round(total * args.moderator_share)
        clients = create_users(setup, "client", total - moderators, "bench-idle-c")
        mods = create_users(setup, "moderator", moderators, "bench-idle-m")
        ids = [uid for pair in zip(clients, mods) for uid in pair] + clients[len(mods):] + mods[len(clients):]
        minted = Cookies(setup.app)
        cookies = [minted.for_user(uid)[0] for uid in ids]
        env = {}
        if args.trace:
            report_dir = setup.tmp / "memory-reports"
            report_dir.mkdir()
            env.update(MEMORY_REPORT_DIR=report_dir, MEMORY_TRACE_FRAMES=args.frames)
        with running_server(Server(setup, workers=1, **env)) as server:
            if clients:
                check_login(server.url, minted.for_user(clients[0])[0], "/profiles")
            tracer = Tracer(server, setup.tmp / "memory-reports", args.top) if args.trace else None
            result = asyncio.run(run_async(args, server, cookies, tracer))
        result.update(server.report())
        desc = setup.describe()
    key = f"{args.setup}-{'+'.join(map(str, args.levels))}" + ("-trace" if args.trace else "")
    record = {"when": now_iso(), "app_commit": server.app_commit, "setup": desc, "machine": machine(),
              "moderator_share": args.moderator_share, **result}
    path = write_result("idle_sockets", key, record)
    parts = [f"{lv['live_sockets']} of {lv['sockets']} open: RSS {lv['worker_rss_mb']} MB "
             f"({lv['kb_per_socket_rss']} KB/socket), USS {lv['worker_uss_mb']} MB ({lv['kb_per_socket_uss']} KB/socket)"
             for lv in result["levels"]]
    line = (f"SUMMARY idle_sockets {key} @ {server.app_commit}: no socket RSS {result['no_sockets']['rss']} MB; "
            + "; ".join(parts) + f"; server tracebacks {result['server_tracebacks']}"
            + (" (traced: RSS not comparable)" if args.trace else ""))
    with open(RESULTS / "idle_sockets.txt", "a") as f:
        f.write(f"{record['when']} {line}\n")
    print(line + f" -> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
