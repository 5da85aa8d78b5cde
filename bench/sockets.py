"""Sockets: memory per idle socket, and push latency while some clients stall.

1. One gunicorn worker (gevent) holds 1,000 then 5,000 idle authenticated sockets (distinct
   client users, minted session cookies); the worker's RSS is read at each step.
2. 50 more sockets read continuously while 5 others stall; fragments are published to the
   users' channels in Redis (exactly what the app's publish() does) and the latency from just
   before PUBLISH to arrival is measured on the 50 readers: first with no stall (baseline),
   then while large fragments are pushed to the 5 stalled clients.

How a client is made to stall: a raw TCP socket with a tiny receive buffer (SO_RCVBUF set
before connect, so the advertised window stays small) completes the WebSocket handshake and
then never calls recv(). The kernel buffers on both sides fill up and the server's send()
to it blocks. (An asyncio websockets client whose recv() is never called is not a true stall:
it keeps reading frames into its own queue until max_queue, then pauses reading, so the
server only blocks much later and by an amount set by client library tuning.)
Afterwards the stalled sockets are drained and their byte streams parsed as WebSocket frames,
to see whether the server closed them and whether every frame arrived whole.

    python bench/sockets.py                         # 1,000 and 5,000 idle sockets
    python bench/sockets.py --idle 200,500 --phase-seconds 5
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import re
import socket
import struct
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from login import USER_AGENT, Cookies, check_login  # noqa: E402
from percentiles import latency_summary  # noqa: E402
from project import ROOT  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import create_users  # noqa: E402
from servers import Server, raise_nofile, running_server, server_env  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--idle", default="1000,5000", help="idle socket counts to measure, ascending")
    p.add_argument("--active", type=int, default=50, help="sockets that read and are timed")
    p.add_argument("--stalled", type=int, default=5, help="sockets that never read")
    p.add_argument("--rate", type=float, default=500.0, help="pushes per second to the active sockets (total)")
    p.add_argument("--stall-rate", type=float, default=50.0, help="large pushes per second to each stalled socket")
    p.add_argument("--stall-kb", type=int, default=64, help="size of a push to a stalled socket (KB)")
    p.add_argument("--phase-seconds", type=float, default=10.0)
    p.add_argument("--hold", type=float, default=40.0,
                   help="seconds the idle sockets are held before RSS is read (longer than the 30 s heartbeat)")
    p.add_argument("--setup", choices=("embedded", "services"),
                   default="services" if os.environ.get("DATABASE_URL") else "embedded")
    p.add_argument("--redis-max-connections", type=int, default=None,
                   help="diagnosis: the server's Redis connection cap (REDIS_MAX_CONNECTIONS and REDIS_URL's query)")
    p.add_argument("--blocking-report", type=float, default=0.0, metavar="SECONDS",
                   help="have gevent's monitor thread log every hub block longer than this (0: off)")
    p.add_argument("--queue-size", type=int, default=None, help="SOCKET_QUEUE_SIZE for the server (app default)")
    args = p.parse_args(argv)
    args.idle = sorted(int(x) for x in args.idle.split(",") if x)
    if args.phase_seconds > 120 or args.hold > 300 or args.idle[-1] > 20000:
        p.error("at most 120 s per phase and 20,000 idle sockets")
    return args


# -- stalled clients: raw sockets ----------------------------------------------------------
def open_stalled(port: int, cookie: str, rcvbuf: int = 4096) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: small window from the start
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:{port}\r\n"
               f"User-Agent: {USER_AGENT}\r\nCookie: {cookie}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:  # read the handshake response only, byte by byte, nothing beyond it
        chunk = s.recv(1)
        if not chunk:
            raise RuntimeError("stalled socket: connection closed during handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"stalled socket: handshake refused: {head[:200]!r}")
    return s


def drain_frames(s: socket.socket, quiet: float = 3.0, limit: float = 30.0) -> dict:
    """Read what the server sent to a stalled socket and parse it as server frames."""
    s.settimeout(quiet)
    data = bytearray()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(1 << 20)
        except (socket.timeout, TimeoutError):
            break
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    frames, intact, corrupt, close_code, pings, first_bad, truncated = 0, 0, 0, None, 0, None, None
    pos = 0
    pattern = re.compile(rb"^<div id='stall-\d+'>x+</div>$")
    while pos + 2 <= len(data):
        b0, b1 = data[pos], data[pos + 1]
        opcode, length, pos2 = b0 & 0x0F, b1 & 0x7F, pos + 2
        if b1 & 0x80 or not b0 & 0x80 or opcode not in (0x1, 0x2, 0x8, 0x9, 0xA):
            corrupt += 1  # server frames are unmasked, unfragmented: anything else is a broken stream
            first_bad = first_bad or f"frame {frames}: bad header {bytes(data[pos:pos + 8])!r}"
            break
        if length == 126:
            length, pos2 = struct.unpack(">H", data[pos2:pos2 + 2])[0], pos2 + 2
        elif length == 127:
            length, pos2 = struct.unpack(">Q", data[pos2:pos2 + 8])[0], pos2 + 8
        if pos2 + length > len(data):
            # The server dropped the stalled socket (send timeout) in the middle of a frame: the
            # page sees a broken connection, reconnects and catches up. Not a corrupt stream.
            truncated = f"frame {frames}: {length} bytes announced, {len(data) - pos2} left in stream"
            break
        payload = bytes(data[pos2:pos2 + length])
        pos = pos2 + length
        frames += 1
        if opcode == 0x8:
            close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
        elif opcode == 0x9:
            pings += 1
        elif opcode == 0x1:
            if pattern.match(payload):
                intact += 1
            else:
                corrupt += 1
                first_bad = first_bad or (f"frame {frames - 1}: {length} bytes, starts {payload[:24]!r}, "
                                          f"contains a frame header at {payload.find(bytes([0x81, 0x7f]))}")
    s.close()
    return {"bytes": len(data), "frames": frames, "intact_text_frames": intact, "corrupt": corrupt,
            "close_code": close_code, "pings": pings, "first_bad": first_bad, "cut_in_last_frame": truncated,
            "reconnect_close_seen": b"\x03\xf4reconnect" in data}


# -- the run ---------------------------------------------------------------------------------
class Bench:
    def __init__(self, args, setup: Setup, server: Server, cookies: list[str], user_ids: list[int]):
        self.args, self.setup, self.server = args, setup, server
        self.cookies, self.user_ids = cookies, user_ids
        self.idle = []
        self.tag = uuid.uuid4().hex[:6]
        self.marker_re = re.compile(rf"pk{self.tag}(\d{{8}})z")
        self.sent_at: dict[int, float] = {}
        self.arrived: dict[int, float] = {}
        self.closed: Counter = Counter()

    async def connect(self, cookie: str):
        from websockets.asyncio.client import connect

        return await connect(self.server.ws_url, origin=self.server.url, additional_headers={"Cookie": cookie},
                             user_agent_header=USER_AGENT, proxy=None, open_timeout=120,
                             ping_interval=None, close_timeout=2, max_size=None)

    async def open_idle(self, upto: int, concurrency: int = 100):
        sem = asyncio.Semaphore(concurrency)
        failures = Counter()

        async def one(i):
            async with sem:
                try:
                    ws = await self.connect(self.cookies[i])
                except Exception as exc:  # noqa: BLE001 - counted
                    failures[type(exc).__name__ + ": " + str(exc)[:80]] += 1
                    return
            self.idle.append(ws)
            asyncio.get_running_loop().create_task(self.watch(ws))

        await asyncio.gather(*(one(i) for i in range(len(self.idle), upto)))
        return failures

    async def watch(self, ws):
        """Idle sockets: nothing should arrive; note if the server closes one."""
        from websockets.exceptions import ConnectionClosed

        try:
            async for _ in ws:
                pass
        except ConnectionClosed as exc:
            self.closed[exc.rcvd.code if exc.rcvd else None] += 1

    async def read_active(self, ws):
        from websockets.exceptions import ConnectionClosed

        try:
            async for frame in ws:
                now = time.perf_counter()
                m = self.marker_re.search(frame if isinstance(frame, str) else frame.decode())
                if m:
                    self.arrived.setdefault(int(m.group(1)), now)
        except ConnectionClosed as exc:
            self.closed[("active", exc.rcvd.code if exc.rcvd else None)] += 1

    async def pushes(self, r, active_ids, seconds: float, seq0: int, stalled_ids=(), stall_payload=""):
        """Publish at args.rate to the active users (round-robin) and, if any, stall_rate large
        fragments to each stalled user; returns the sequence numbers sent to the active ones."""
        from app.realtime.hub import envelope

        channels = self.setup.app.extensions["redis_names"]  # the server's: the same database URL and REDIS_PREFIX

        seqs = []
        start = time.perf_counter()
        n = int(self.args.rate * seconds)
        stall_every = 1.0 / self.args.stall_rate if stalled_ids else None
        next_stall, stall_seq = start, 0
        for i in range(n):
            target = start + i / self.args.rate
            while stall_every is not None and next_stall <= target:
                for uid in stalled_ids:
                    await r.publish(channels.user_channel(uid), envelope("", f"<div id='stall-{stall_seq}'>{stall_payload}</div>"))
                stall_seq += 1
                next_stall += stall_every
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            seq = seq0 + i
            uid = active_ids[i % len(active_ids)]
            fragment = f'<div id="push-{seq}" hx-swap-oob="beforeend">pk{self.tag}{seq:08d}z payload</div>'
            self.sent_at[seq] = time.perf_counter()
            await r.publish(channels.user_channel(uid), envelope("", fragment))
            seqs.append(seq)
        return seqs, stall_seq

    async def wait_for(self, seqs, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(s in self.arrived for s in seqs):
            await asyncio.sleep(0.05)

    def latency(self, seqs) -> dict:
        lat = [(self.arrived[s] - self.sent_at[s]) * 1000 for s in seqs if s in self.arrived]
        out = latency_summary(lat)
        out["sent"], out["delivered"] = len(seqs), len(lat)
        # When the slow ones happened (seconds from the phase's first push), to line them up with
        # the app's periodic work (e.g. the per-socket heartbeat every 30 s).
        t0 = min((self.sent_at[s] for s in seqs), default=0.0)
        slow = sorted(((self.arrived[s] - self.sent_at[s]) * 1000, self.sent_at[s] - t0)
                      for s in seqs if s in self.arrived)[-200:]
        spans = sorted({round(at, 1) for ms, at in slow if ms > 50})
        out["pushes_over_50ms"] = sum(1 for s in seqs if s in self.arrived and
                                      (self.arrived[s] - self.sent_at[s]) * 1000 > 50)
        out["slow_push_times_s"] = [spans[0], spans[-1]] if spans else []
        return out


async def settle_rss(server: Server, seconds: float = 3.0) -> int:
    await asyncio.sleep(seconds)
    return server.worker_rss()


def server_errors(server: Server) -> dict:
    return server.error_counts()


def delta(after: dict, before: dict) -> dict:
    return {k: after[k] - before.get(k, 0) for k in after}


async def push_phase(bench: Bench, r, active_ids, label: str, seq0: int, stalled_ids=(), payload="") -> dict:
    errors0 = server_errors(bench.server)
    seqs, stall_sent = await bench.pushes(r, active_ids, bench.args.phase_seconds, seq0, stalled_ids, payload)
    await bench.wait_for(seqs)
    out = bench.latency(seqs)
    out["server_errors"] = delta(server_errors(bench.server), errors0)
    print(f"  {label}: p50 {out['p50_ms']} p99 {out['p99_ms']} max {out['max_ms']} ms, "
          f"delivered {out['delivered']}/{out['sent']}; server errors {out['server_errors']}", flush=True)
    return out, stall_sent


async def run_async(args, setup, server, bench: Bench) -> dict:
    import redis.asyncio as aioredis

    mb = lambda b: round(b / 2**20, 1)  # noqa: E731
    result: dict = {"levels": []}
    base_rss = await settle_rss(server, 1.0)
    result["worker_rss_no_sockets_mb"] = mb(base_rss)
    print(f"  worker RSS with no socket: {mb(base_rss)} MB", flush=True)

    n_idle = args.idle[-1]
    active_ids = bench.user_ids[n_idle:n_idle + args.active]
    stalled_ids = bench.user_ids[n_idle + args.active:n_idle + args.active + args.stalled]
    active = [await bench.connect(c) for c in bench.cookies[n_idle:n_idle + args.active]]
    for ws in active:
        asyncio.get_running_loop().create_task(bench.read_active(ws))
    r = aioredis.Redis.from_url(setup.env["REDIS_URL"])
    warm, _ = await bench.pushes(r, active_ids, 1.0, 90_000_000)  # warm-up, not counted
    await bench.wait_for(warm)
    seq0 = 0
    leftover = 0  # memory the stall phase left behind (not given back by the allocator), kept out of per-socket
    prev_rss, prev_n = base_rss, 0
    for n, target in enumerate(args.idle):
        errors0, closed0 = server_errors(server), sum(bench.closed.values())
        t = time.monotonic()
        failures = await bench.open_idle(target)
        took = time.monotonic() - t
        # Hold them idle for longer than the app's per-socket heartbeat (30 s), then read the RSS.
        rss = await settle_rss(server, args.hold)
        live = len(bench.idle) + args.active - sum(bench.closed.values())
        level = {"idle_sockets": len(bench.idle), "plus_active": args.active, "open_seconds": round(took, 1),
                 "held_seconds": args.hold, "worker_rss_mb": mb(rss),
                 "live_sockets": live,
                 "kb_per_socket": round((rss - base_rss - leftover) / 1024 / max(1, live), 1),
                 "kb_per_added_socket": round((rss - prev_rss) / 1024 / max(1, live - prev_n), 1),
                 "open_failures": dict(failures),
                 "closed_by_server_while_idle": sum(bench.closed.values()) - closed0,
                 "server_errors_while_idle": delta(server_errors(server), errors0)}
        print(f"  {level['idle_sockets']} idle + {args.active} active sockets (opened in {took:.1f} s, held "
              f"{args.hold:g} s, {live} still open): worker RSS {level['worker_rss_mb']} MB, {level['kb_per_socket']} KB/socket "
              f"({level['kb_per_added_socket']} KB per socket added); "
              f"open failures {dict(failures) or 0}; closed by server {level['closed_by_server_while_idle']}; "
              f"server errors {level['server_errors_while_idle']}", flush=True)
        gc.collect()
        gc.freeze()
        level["push_no_stall"], _ = await push_phase(
            bench, r, active_ids, f"{args.active} active sockets, {args.rate:g} pushes/s", seq0)
        seq0 += 1_000_000
        prev_rss, prev_n = rss, live
        if n == 0 and args.stalled:
            level["stall"] = await stall_phase(args, bench, server, r, active_ids, stalled_ids, seq0)
            seq0 += 1_000_000
            prev_rss = server.worker_rss()
            leftover = max(0, prev_rss - rss)
            level["stall"]["rss_left_after_stall_mb"] = round(leftover / 2**20, 1)
        gc.unfreeze()
        result["levels"].append(level)
    result["closed_by_server"] = {str(k): v for k, v in bench.closed.items()}
    await r.aclose()
    await asyncio.gather(*(ws.close() for ws in active + bench.idle), return_exceptions=True)
    return result


async def stall_phase(args, bench, server, r, active_ids, stalled_ids, seq0) -> dict:
    mb = lambda b: round(b / 2**20, 1)  # noqa: E731
    loop = asyncio.get_running_loop()
    stalled = await loop.run_in_executor(None, lambda: [
        open_stalled(server.port, bench.cookies[bench.user_ids.index(uid)]) for uid in stalled_ids])
    await asyncio.sleep(1.0)
    payload = "x" * (args.stall_kb * 1024)
    rss0 = server.worker_rss()
    out, stall_sent = await push_phase(
        bench, r, active_ids, f"same with {args.stalled} stalled sockets sent {args.stall_rate:g}/s x "
        f"{args.stall_kb} KB each", seq0, stalled_ids, payload)
    rss_stall = server.worker_rss()
    await asyncio.sleep(5)  # do the stalled sockets get closed (and their queues freed) while they stay stalled?
    rss_later = server.worker_rss()
    drained = await loop.run_in_executor(None, lambda: [drain_frames(s) for s in stalled])
    rss_drained = await settle_rss(server, 2.0)
    print(f"  stalled sockets: worker RSS {mb(rss0)} -> {mb(rss_stall)} MB during the stall, {mb(rss_later)} MB 5 s "
          f"later, {mb(rss_drained)} MB once drained; streams: " + "; ".join(
              f"{d['intact_text_frames']} whole frames, corrupt {d['corrupt']}, dropped mid-frame "
              f"{d['cut_in_last_frame'] is not None}, 1012 close seen {d['reconnect_close_seen']}"
              for d in drained), flush=True)
    out.update({"stalled_sockets": args.stalled, "fragment_kb": args.stall_kb, "per_stalled_socket_sent": stall_sent,
                "worker_rss_before_mb": mb(rss0), "worker_rss_end_of_stall_mb": mb(rss_stall),
                "worker_rss_5s_later_mb": mb(rss_later), "worker_rss_after_drain_mb": mb(rss_drained),
                "drained": drained})
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    nofile = raise_nofile()
    total = args.idle[-1] + args.active + args.stalled
    print(f"sockets: setup={args.setup} idle={args.idle} active={args.active} stalled={args.stalled} "
          f"(open files limit {nofile})", flush=True)
    if nofile < total + 200:
        raise SystemExit(f"open files limit {nofile} is too low for {total} sockets")
    with Setup(args.setup) as setup:
        setup.prepare()
        ids = create_users(setup, "client", total, "bench-sock")
        minted = Cookies(setup.app)
        cookies = [minted.for_user(uid)[0] for uid in ids]
        env = server_env(setup, args.blocking_report, args.redis_max_connections)
        if args.queue_size:
            env["SOCKET_QUEUE_SIZE"] = args.queue_size
        with running_server(Server(setup, workers=1, **env)) as server:
            check_login(server.url, cookies[0], "/profiles")
            bench = Bench(args, setup, server, cookies, ids)
            result = asyncio.run(run_async(args, setup, server, bench))
        result.update(server.report())
        desc = setup.describe()
    key = f"{args.setup}-idle{'+'.join(map(str, args.idle))}"
    if args.redis_max_connections:
        key += f"-redis_max_connections{args.redis_max_connections}"
    record = {"when": now_iso(), "app_commit": server.app_commit, "setup": desc, "machine": machine(),
              "queue_size": args.queue_size or "app default",
              "redis_max_connections": args.redis_max_connections or "app default", "active_sockets": args.active,
              "push_rate": args.rate, "phase_seconds": args.phase_seconds, **result}
    path = write_result("sockets", key, record)
    parts = []
    for level in result["levels"]:
        p = level["push_no_stall"]
        parts.append(f"{level['idle_sockets']} idle ({level['live_sockets']} of {level['idle_sockets'] + args.active} still open): "
                     f"{level['worker_rss_mb']} MB ({level['kb_per_socket']} KB/socket), "
                     f"push p99 {p['p99_ms']} ms delivered {p['delivered']}/{p['sent']}, "
                     f"closed by server {level['closed_by_server_while_idle']}")
        if "stall" in level:
            st = level["stall"]
            whole = all(d["corrupt"] == 0 for d in st["drained"])
            cut = sum(d["cut_in_last_frame"] is not None for d in st["drained"])
            parts.append(f"with {args.stalled} stalled: push p99 {st['p99_ms']} ms delivered {st['delivered']}/{st['sent']}, "
                         f"stalled streams {'whole frames' if whole else 'CORRUPT'} ({cut} dropped mid-frame), worker RSS +"
                         f"{round(st['worker_rss_end_of_stall_mb'] - st['worker_rss_before_mb'], 1)} MB")
    print(f"SUMMARY sockets {key}: " + "; ".join(parts) + f"; server tracebacks {result['server_tracebacks']} "
          f"(client on same machine) -> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
