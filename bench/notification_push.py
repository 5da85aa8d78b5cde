"""Notification centre: event -> the bell's count pushed, and what the cached unread count saves.

``push``: N users each hold one socket to a real server (gunicorn + gevent). Events are
notifications written in this process, as a job would write them (one unit of work each:
``notifications.notify`` and the commit; the dispatcher drops the cached count, reads it again
and publishes the badge on Redis; the server's hub delivers it). Latency of an event = from just
before its unit of work begins to the arrival of the badge with the expected count on that
user's socket. Events go out at --rate per second, open loop, each to a user with no event
outstanding. Server CPU per event = the gunicorn workers' CPU over the phase / events; writer
CPU per event = this process's CPU spent in the units of work / events.

``count``: the unread count as the bell reads it on every page, for users with --notifications
each: ``cached`` (Redis GET of the count and its version), ``database`` (the COUNT query alone,
what every read would cost without the cache), ``miss`` (drop, then read: the query and the
checked fill). Rounds alternate the three; median over rounds of wall time and this process's
CPU per read (the database's and Redis's own work is in the wall time). It never asserts.

    .venv/bin/python bench/notification_push.py --users 1000 --events 500 --rate 50
    DATABASE_URL=postgresql://... REDIS_URL=redis://... .venv/bin/python bench/notification_push.py --setup services
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from login import USER_AGENT, Cookies  # noqa: E402
from percentiles import latency_summary  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import create_users  # noqa: E402
from servers import Server, raise_nofile, running_server  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--setup", choices=("embedded", "services"),
                   default="services" if os.environ.get("DATABASE_URL") else "embedded")
    p.add_argument("--users", type=int, default=1000, help="users, one socket each")
    p.add_argument("--events", type=int, default=500, help="notifications written")
    p.add_argument("--rate", type=float, default=50.0, help="events per second")
    p.add_argument("--notifications", type=int, default=50, help="unread notifications per user (count phase)")
    p.add_argument("--repeat", type=int, default=500, help="reads per round (count phase)")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    if args.users < 1 or args.events < 1 or args.rate <= 0 or args.events > 100 * args.users:
        p.error("--users and --events at least 1, --rate above 0")
    return args


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class PushRun:
    def __init__(self, setup: Setup, server: Server, user_ids: list[int]):
        self.setup, self.server, self.user_ids = setup, server, user_ids
        self.expected: dict[int, int] = {}    # user -> the count their next badge must show
        self.started: dict[int, float] = {}   # user -> when their outstanding event began
        self.latencies: list[float] = []
        self.arrived = asyncio.Event()
        self.writer_cpu = 0.0
        self.probed: set[int] = set()

    async def connect(self, cookie: str):
        from websockets.asyncio.client import connect

        return await connect(self.server.ws_url, origin=self.server.url, additional_headers={"Cookie": cookie},
                             user_agent_header=USER_AGENT, proxy=None, open_timeout=120, ping_interval=None,
                             close_timeout=2, max_size=None)

    async def read(self, user_id: int, ws) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for frame in ws:
                stamp = time.perf_counter()
                if "bench-probe" in frame:
                    self.probed.add(user_id)
                    continue
                if 'id="notif-count"' in frame and user_id in self.started \
                        and f'data-unread="{self.expected[user_id]}"' in frame:
                    self.latencies.append((stamp - self.started.pop(user_id)) * 1000)
                    self.arrived.set()
        except ConnectionClosed:
            pass

    def notify(self, user_id: int) -> None:
        """One event's unit of work (in a thread: the loop keeps reading the sockets)."""
        from app.database import write_transaction
        from app.services import notifications

        cpu = time.thread_time()
        with self.setup.app.test_request_context(base_url=self.server.url):
            with write_transaction():
                notifications.notify(user_id, "ticket", f"ticket:{random.randrange(1 << 30)}", now=now(),
                                     params={"ticket_id": 1, "subject": "bench", "action": "commented"})
        self.writer_cpu += time.thread_time() - cpu

    def probe_all(self) -> None:
        from app.realtime.hub import publish
        from app.redis_client import get_redis

        with self.setup.app.app_context():
            r = get_redis()
            for user_id in self.user_ids:
                if user_id not in self.probed:
                    publish(r, user_id, '<div id="bench-probe"></div>')

    async def run(self, events: int, rate: float) -> dict:
        cookies = Cookies(self.setup.app)
        sockets = []
        sem = asyncio.Semaphore(100)

        async def one(user_id):
            async with sem:
                ws = await self.connect(cookies.for_user(user_id)[0])
            sockets.append(ws)
            asyncio.get_running_loop().create_task(self.read(user_id, ws))

        await asyncio.gather(*(one(u) for u in self.user_ids))
        deadline = time.monotonic() + 60
        while len(self.probed) < len(self.user_ids) and time.monotonic() < deadline:  # every socket hears
            self.probe_all()
            await asyncio.sleep(0.5)
        if len(self.probed) < len(self.user_ids):
            raise SystemExit(f"only {len(self.probed)} of {len(self.user_ids)} sockets hear pushes")
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(max_workers=4)
        cpu_before = self.server.cpu_seconds()
        began = time.perf_counter()
        sent = 0
        for i in range(events):
            await asyncio.sleep(max(0.0, began + i / rate - time.perf_counter()))
            free = [u for u in random.sample(self.user_ids, min(50, len(self.user_ids))) if u not in self.started]
            if not free:
                continue
            user_id = free[0]
            self.expected[user_id] = self.expected.get(user_id, 0) + 1
            self.started[user_id] = time.perf_counter()
            loop.run_in_executor(pool, self.notify, user_id)
            sent += 1
        wait_until = time.monotonic() + 10
        while self.started and time.monotonic() < wait_until:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - began
        server_cpu = self.server.cpu_seconds() - cpu_before
        pool.shutdown(wait=True)
        for ws in sockets:
            await ws.close()
        return {"events": sent, "pushed": len(self.latencies), "lost": len(self.started),
                "achieved_rate": round(sent / elapsed, 1), "latency_ms": latency_summary(sorted(self.latencies)),
                "server_cpu_ms_per_event": round(server_cpu * 1000 / max(sent, 1), 3),
                "writer_cpu_ms_per_event": round(self.writer_cpu * 1000 / max(sent, 1), 3)}


def count_phase(setup: Setup, user_ids: list[int], per_user: int, repeat: int, rounds: int) -> dict:
    from sqlalchemy import insert

    from app.database import write_transaction
    from app.extensions import db
    from app.models import Notification
    from app.services import notifications

    readers = user_ids[:50]
    stamp = now()
    with setup.app.app_context():
        with write_transaction():
            db.session.execute(insert(Notification), [
                {"user_id": u, "kind": "ticket", "object_key": f"ticket:{i}", "params": {}, "link": "", "count": 1,
                 "created_at": stamp, "updated_at": stamp} for u in readers for i in range(per_user)])
        for u in readers:
            notifications.invalidate(u)

        def cached(u):
            return notifications.unread_count(u)

        def database(u):
            return notifications.count_unread(u)

        def miss(u):
            notifications.invalidate(u)
            return notifications.unread_count(u)

        results = {name: {"wall_us": [], "cpu_us": []} for name in ("cached", "database", "miss")}
        for _ in range(rounds):
            for name, fn in (("cached", cached), ("database", database), ("miss", miss)):
                if name == "cached":
                    for u in readers:
                        notifications.unread_count(u)  # warm
                wall, cpu = time.perf_counter(), time.process_time()
                for i in range(repeat):
                    value = fn(readers[i % len(readers)])
                    assert value >= per_user
                results[name]["wall_us"].append((time.perf_counter() - wall) * 1e6 / repeat)
                results[name]["cpu_us"].append((time.process_time() - cpu) * 1e6 / repeat)
        db.session.remove()
    return {name: {"wall_us_median": round(statistics.median(v["wall_us"]), 1),
                   "cpu_us_median": round(statistics.median(v["cpu_us"]), 1),
                   "wall_us_rounds": [round(x, 1) for x in v["wall_us"]]} for name, v in results.items()}


def main() -> None:
    args = parse_args()
    raise_nofile()
    with Setup(args.setup) as setup:
        setup.prepare()
        user_ids = create_users(setup, "client", args.users, "notif")
        with running_server(Server(setup)) as server:
            push = asyncio.run(PushRun(setup, server, user_ids).run(args.events, args.rate))
        count = count_phase(setup, user_ids, args.notifications, args.repeat, args.rounds)
        record = {"when": now_iso(), "setup": setup.describe(), "machine": machine(),
                  "args": vars(args), "push": push, "count": count}
        path = write_result("notification_push", f"{args.setup}-{args.users}", record)
    lat = push["latency_ms"]
    print(f"{args.setup}, {args.users} sockets: event -> badge p50 {lat.get('p50_ms')} ms, p99 {lat.get('p99_ms')} ms "
          f"({push['pushed']}/{push['events']} pushed at {push['achieved_rate']}/s; server CPU "
          f"{push['server_cpu_ms_per_event']} ms/event, writer {push['writer_cpu_ms_per_event']} ms/event); "
          f"unread count read: cached {count['cached']['wall_us_median']} us "
          f"(CPU {count['cached']['cpu_us_median']}), database {count['database']['wall_us_median']} us "
          f"(CPU {count['database']['cpu_us_median']}), miss {count['miss']['wall_us_median']} us -> {path}")


if __name__ == "__main__":
    main()
