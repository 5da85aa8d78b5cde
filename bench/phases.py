"""The measured part that bench/push_latency.py (Switchboard) and bench/peer_socketio.py (the
peer) share, so that both are measured the same way: a warm-up of one message per conversation,
then open-loop phases at a fixed rate, a phase repeated (bounded) when other programs loaded
the CPUs during it.

A run is a ``Stamps`` whose ``post(pool, phase, seq, conversation)`` sends one message (with
``send``) and whose sockets call ``saw`` for each fragment they receive.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import time
import uuid
from collections import Counter

from cpu_accounting import machine_busy_seconds, own_cpu, wait_for_quiet
from http_clients import HTTPPool
from percentiles import latency_summary


MAX_DURATION = 600.0
MAX_MESSAGES = 200_000


def arguments(description: str, add_own=None, warmup_help: str = "warm-up messages posted at once"):
    """The options both benchmarks take (``add_own(parser)`` adds a benchmark's own), and their checks."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--moderators", type=int, default=200)
    p.add_argument("--rate", type=float, default=50.0, help="client messages per second")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of measured traffic")
    p.add_argument("--setup", choices=("embedded", "services"),
                   default="services" if os.environ.get("DATABASE_URL") else "embedded")
    p.add_argument("--http-connections", type=int, default=256,
                   help="keep-alive HTTP connections at most (high, so requests are not held back in the client)")
    p.add_argument("--warmup-concurrency", type=int, default=1, help=warmup_help)
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
    if add_own is not None:
        add_own(p)
    return p


def checked(p: argparse.ArgumentParser, argv=None):
    args = p.parse_args(argv)
    if not 1 <= args.attempts <= 5:
        p.error("--attempts is 1 to 5")
    if args.duration > MAX_DURATION or args.rate * args.duration > MAX_MESSAGES:
        p.error(f"at most {MAX_DURATION:.0f} s and {MAX_MESSAGES} messages")
    return args


class Stamps:
    """A run's messages, by (phase, seq): when each was due, sent, answered and first seen on a
    socket (and on which), found by the unique marker each body carries."""

    def __init__(self):
        self.tag = uuid.uuid4().hex[:6]
        self.marker_re = re.compile(rf"mk{self.tag}([wmf])(\d{{7}})z")
        self.sent_at: dict[tuple[str, int], float] = {}
        self.answered_at: dict[tuple[str, int], float] = {}
        self.scheduled_at: dict[tuple[str, int], float] = {}
        self.arrived: dict[tuple[str, int], tuple[float, int]] = {}
        self.status: Counter = Counter()
        self.failures: list[str] = []
        self.fragments = 0
        self.fragment_bytes = 0
        self.fragments_without_id = 0
        self.queue_panels = 0  # Switchboard's moderator queue panels received (the peer has none)

    def marker(self, phase: str, seq: int) -> str:
        return f"mk{self.tag}{phase}{seq:07d}z"

    def saw(self, fragment: str, socket_index: int) -> None:
        """A fragment arrived on socket ``socket_index``: stamp the markers it carries."""
        now = time.perf_counter()
        self.fragments += 1
        self.fragment_bytes += len(fragment)
        self.queue_panels += fragment.count('id="queue-status"')
        found = False
        for m in self.marker_re.finditer(fragment):
            key = (m.group(1), int(m.group(2)))
            if key not in self.arrived:
                self.arrived[key] = (now, socket_index)
            found = True
        if found and "data-msg-id=" not in fragment:
            self.fragments_without_id += 1

    async def send(self, pool: HTTPPool, key: tuple[str, int], path: str, headers: dict, body: str) -> None:
        """POST one message, stamped just before its request is written; errors are counted."""
        phase, seq = key

        def stamp():
            self.sent_at[key] = time.perf_counter()

        try:
            status, data = await pool.request("POST", path, headers, body.encode(), on_sent=stamp)
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


async def warm_up(run, pool, n_conv: int, concurrency: int) -> str:
    """One message per conversation, ``concurrency`` at a time; a line describing it. Raises when
    a message failed."""
    sem = asyncio.Semaphore(concurrency)
    run.status.clear()

    async def warm(i):
        async with sem:
            await run.post(pool, "w", i, i)

    t = time.monotonic()
    await asyncio.gather(*(warm(i) for i in range(n_conv)))
    warm_ok = await run.wait_arrivals([("w", i) for i in range(n_conv)], 15)
    line = (f"{n_conv} conversations in {time.monotonic() - t:.1f} s, status {dict(run.status)}, "
            f"pushed {'all' if warm_ok else sum(1 for k in run.arrived if k[0] == 'w')}")
    if run.status.get(200, 0) != n_conv:
        raise RuntimeError(f"warm-up failed: {line} {run.failures}")
    run.status.clear()
    return line


async def measured(args, setup, server, run, pool, n_conv: int, extra=None) -> dict:
    """The measured phase, repeated (at most ``args.attempts`` times) while other programs loaded
    the CPUs during it; the last phase's result."""
    loop = asyncio.get_running_loop()
    order = list(range(n_conv))
    random.Random(args.seed).shuffle(order)
    rejected = []
    for attempt in range(args.attempts):
        quiet = await loop.run_in_executor(None, wait_for_quiet, args.quiet_wait, args.busy_threshold)
        result = await measure(args, setup, server, run, pool, order, attempt * 1_000_000, extra)
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
    return result


async def measure(args, setup, server, run, pool, order, seq0: int, extra=None, rate: float | None = None,
                  duration: float | None = None, phase: str = "m", post=None) -> dict:
    """One measured phase: open loop at ``rate`` (default args.rate) for ``duration`` (args.duration),
    round-robin over shuffled conversations. ``extra(run, ok_keys)`` adds what only one of the
    benchmarks records. ``post(pool, phase, seq, i)`` (default ``run.post``) posts message i of
    the phase to ``order[i % len(order)]``."""
    loop = asyncio.get_running_loop()
    n_conv = len(order)
    rate = args.rate if rate is None else rate
    duration = args.duration if duration is None else duration
    post = post or (lambda pool_, phase_, seq, i: run.post(pool_, phase_, seq, order[i % n_conv]))
    run.status.clear()
    run.failures.clear()
    total = int(round(rate * duration))
    gc.collect()
    gc.freeze()
    gc.disable()  # the load generator must not pause in the middle of the phase (its stamps would)
    services = setup.services_meter().start()
    cpu0, own0, busy0 = server.cpu_seconds(), own_cpu(), machine_busy_seconds()
    frag0, retried0, panels0 = run.fragments, pool.retried, run.queue_panels
    start = time.perf_counter()
    tasks = []
    lag_max = 0.0
    for i in range(total):
        target = start + i / rate
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lag_max = max(lag_max, time.perf_counter() - target)
        run.scheduled_at[(phase, seq0 + i)] = target
        tasks.append(loop.create_task(post(pool, phase, seq0 + i, i)))
    await asyncio.gather(*tasks)
    ok_keys = [(phase, seq0 + i) for i in range(total) if (phase, seq0 + i) in run.answered_at]
    await run.wait_arrivals(ok_keys, args.drain)
    cpu1, own1, busy1 = server.cpu_seconds(), own_cpu(), machine_busy_seconds()
    ours = services.stop()
    services_s = ours["cpu_s"]
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
    # Everything else on the machine: other people's programs. Our database's backends (those that
    # came and went during the phase too) and our Redis server are ours.
    other_cores = ((busy1 - busy0) - (cpu1 - cpu0) - (own1 - own0) - services_s) / elapsed
    reached = len({run.arrived[k][1] for k in ok_keys if k in run.arrived})
    sent_ok = run.status.get(200, 0)
    result = {
        "latency": latency_summary(lat),
        "latency_from_due_time": latency_summary(due),
        "http_post_roundtrip": latency_summary(http),
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
        "redis_cpu_ms_per_msg": round(ours["redis_cpu_s"] * 1000 / max(1, total), 3),
        "db_and_redis_cpu_ms_per_msg": round(services_s * 1000 / max(1, total), 3),
        "database_and_redis": ours,
        "client_cpu_ms_per_msg": round((own1 - own0) * 1000 / max(1, total), 3),
        "fragments_received": run.fragments - frag0,
        "queue_panels_received": run.queue_panels - panels0,
        "mean_fragment_bytes": round(run.fragment_bytes / max(1, run.fragments)),
        "fragments_with_marker_but_no_msg_id": run.fragments_without_id,
        "http_connections_opened": pool.opened,
        "http_retried_on_closed_keepalive": pool.retried - retried0,
        "failures": list(run.failures),
    }
    if extra is not None:
        result.update(extra(run, ok_keys))
    return result
