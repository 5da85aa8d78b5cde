"""Faults: nothing lost when parts fail, with clients and moderators sending throughout.

A private PostgreSQL and a private Redis (started here, on free ports, in a temporary folder),
gunicorn with the production ``gunicorn.conf.py`` (gevent, ``--workers`` processes), the RQ
worker and the scheduler (``worker.py``), and a mail sink. Clients each talk to one profile
and post at ``--rate`` messages a second in all; moderators hold sockets, and every client
message their page shows gets a reply. Every page holds a socket and behaves as ``app.js``:
after a close it reconnects with htmx's backoff and catches up (the client's conversation; for
a moderator, the conversation list and then each of its conversations after the last message
the page shows). A failed send is sent again as the page lets a person do it: with the same
client token after a network failure, a new one after an HTTP error.

One scenario per fault, each on fresh data:

* ``web-kill``: SIGKILL of one gunicorn worker while sends are in flight (gunicorn starts another);
* ``redis-restart``: Redis shut down (its append-only file kept) and started again after ``--outage`` s;
* ``postgres-restart``: PostgreSQL stopped (fast: sessions terminated) and started again after ``--outage`` s;
* ``worker-kill``: SIGKILL of the RQ worker while it sends a mail (the sink answers slowly):
  ``--worker-kill horse`` kills the process running the job (what the OOM killer picks),
  ``all`` the worker and its job's process (a container stopped), started again after 1 s.
  Mails are queued throughout; each must arrive, once.

Counted for each: messages sent (answered 200), stored (in the database), shown on the pages
(pushed live or caught up after a reconnect; duplicates by message id dropped as the page
drops them), lost (answered but not stored, or stored but never shown to whom it is for),
duplicated (one message stored twice, shown twice), and the recovery time: from the fault to
the first client message sent after it that was answered and pushed live to its moderator.

    python bench/faults.py                              # every scenario
    python bench/faults.py --scenarios redis-restart --outage 5
    python bench/faults.py --scenarios worker-kill --worker-kill all --drain 200
    python bench/faults.py --pre-ping                   # DB_POOL_PRE_PING=1 in the web processes
"""
from __future__ import annotations

import argparse
import asyncio
import mailbox
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_clients import HTTPPool  # noqa: E402
from login import USER_AGENT  # noqa: E402
from project import PYTHON, ROOT  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from servers import free_port, raise_nofile  # noqa: E402

SCENARIOS = ("web-kill", "redis-restart", "postgres-restart", "worker-kill")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
BUBBLE = re.compile(r'data-msg-id="(\d+)">\s*<p class="body">[^<]*?(fk[0-9a-f]{6}[cr]\d{6}z)')
CONVERSATION_ITEM = re.compile(r'data-conversation-id="(\d+)"')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated, from {', '.join(SCENARIOS)}")
    p.add_argument("--clients", type=int, default=40)
    p.add_argument("--moderators", type=int, default=8)
    p.add_argument("--profiles", type=int, default=8)
    p.add_argument("--rate", type=float, default=10.0, help="client messages per second, in all")
    p.add_argument("--before", type=float, default=8.0, help="seconds of traffic before the fault")
    p.add_argument("--after", type=float, default=25.0, help="seconds of traffic after the fault")
    p.add_argument("--drain", type=float, default=20.0, help="seconds to let pages catch up once sending stops")
    p.add_argument("--outage", type=float, default=3.0, help="seconds Redis or PostgreSQL stays down")
    p.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    p.add_argument("--worker-kill", choices=("horse", "all"), default="horse")
    p.add_argument("--mail-delay", type=float, default=1.5, help="seconds the mail sink takes to accept a mail")
    p.add_argument("--pre-ping", action="store_true", help="DB_POOL_PRE_PING=1 in the web processes")
    args = p.parse_args(argv)
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.rate * (args.before + args.after) > 20_000 or args.drain > 600:
        p.error("at most 20,000 messages and a 600 s drain")
    return args


# -- the private services ----------------------------------------------------------------------
class PrivatePostgres:
    """A PostgreSQL cluster of our own (trust auth, a temporary folder), restartable at will."""

    def __init__(self, tmp: Path):
        self.home, self.port = tmp / "postgres", free_port()
        self.dir, self.log = self.home / "data", self.home / "postgres.log"
        self.home.mkdir()
        self._as = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: as its own system user
            tmp.chmod(0o711)
            shutil.chown(self.home, "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*self._as, PG_BIN / "initdb", "-D", self.dir, "-U", "postgres", "-A", "trust", "--no-sync"],
                       check=True, capture_output=True)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/switchboard"

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.home} -c max_connections=300 -c fsync=off"
        subprocess.run([*self._as, PG_BIN / "pg_ctl", "-D", self.dir, "-o", options, "-l", self.log, "-w", "start"],
                       check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run([*self._as, PG_BIN / "pg_ctl", "-D", self.dir, "-m", "fast", "-w", "stop"], capture_output=True)

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE switchboard")

    def backends(self) -> int:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = 'switchboard'").fetchone()[0]


class PrivateRedis:
    """A redis-server of our own with an append-only file (what production needs for its jobs
    to outlive a restart)."""

    def __init__(self, tmp: Path):
        self.dir, self.port = tmp / "redis", free_port()
        self.dir.mkdir()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "yes", "--dir", str(self.dir)],
                                     stdout=open(self.dir / "redis.log", "ab"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        _wait(lambda: self._ping(), 10, "redis-server did not start")

    def _ping(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        import redis

        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            redis.Redis(port=self.port).shutdown()  # the append-only file is written first
        except redis.RedisError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _wait(predicate, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(message)


class SlowMailSink:
    """The project's mail sink, taking ``delay`` seconds to accept each mail (a job sending one is
    running for that long: the moment to kill its worker)."""

    def __init__(self, outbox: Path, delay: float):
        from aiosmtpd.controller import Controller

        from app.dev.mailsink import OutboxHandler

        class Slow(OutboxHandler):
            async def handle_DATA(self, server, session, envelope):
                await asyncio.sleep(delay)
                return await super().handle_DATA(server, session, envelope)

        self.outbox, self.port = outbox, free_port()
        self.controller = Controller(Slow(outbox), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def subjects(self) -> Counter:
        return Counter(str(m["Subject"]) for m in mailbox.Maildir(str(self.outbox), create=False))

    def delivered_at(self) -> dict[str, float]:
        """Subject -> when its (first) mail arrived, in seconds since 1970."""
        box, found = mailbox.Maildir(str(self.outbox), create=False), {}
        for key in box.keys():
            path = Path(self.outbox) / box._lookup(key)
            subject = str(box[key]["Subject"])
            found[subject] = min(found.get(subject, float("inf")), path.stat().st_mtime)
        return found

    def stop(self) -> None:
        self.controller.stop()


class Background:
    """``worker.py`` (the RQ worker, or ``--scheduler``) as its own process group."""

    def __init__(self, env: dict, log: Path, *args: str):
        self.env, self.log, self.args = env, log, args
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.proc = subprocess.Popen([PYTHON, "worker.py", *self.args], cwd=ROOT, env=self.env,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, with_job: bool) -> list[int]:
        """SIGKILL the worker (and, ``with_job``, the process running its job: RQ puts it in a group
        of its own); returns the pids killed."""
        import psutil

        killed = []
        if with_job:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                child.kill()
                killed.append(child.pid)
        os.killpg(self.proc.pid, signal.SIGKILL)
        killed.append(self.proc.pid)
        self.proc.wait()
        return killed

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# -- pages -----------------------------------------------------------------------------------
class Page:
    """One person's page: its socket, what it shows (message id -> marker), its catch-ups."""

    def __init__(self, run: "Run", index: int, cookie: str, csrf: str, moderator: bool):
        self.run, self.index, self.cookie, self.csrf, self.moderator = run, index, cookie, csrf, moderator
        self.shown: dict[int, str] = {}
        self.live_ids: set[int] = set()
        self.conversations: set[int] = set()  # a moderator's, from their list
        self.path = ""  # a client's conversation: its catch-up address
        self.last_id: dict[str, int] = defaultdict(int)  # catch-up address -> last message id shown
        self.connects = 0
        self.closes: Counter = Counter()
        self.duplicate_pushes = 0

    def headers(self) -> dict:
        return {"Cookie": self.cookie, "X-CSRFToken": self.csrf, "HX-Request": "true", "User-Agent": USER_AGENT}

    def show(self, html: str, path: str | None, live: bool) -> None:
        for match in BUBBLE.finditer(html):
            msg_id, marker = int(match.group(1)), match.group(2)
            if msg_id in self.shown:
                self.duplicate_pushes += live
                continue  # the page drops a bubble it already shows
            self.shown[msg_id] = marker
            if live:
                self.live_ids.add(msg_id)
            self.run.on_shown(self, msg_id, marker, live)
            where = path or (self.run.catchup_path_of(marker) if self.moderator else self.path)
            if where:
                self.last_id[where] = max(self.last_id[where], msg_id)
        if self.moderator:
            self.conversations.update(int(c) for c in CONVERSATION_ITEM.findall(html))

    async def catch_up(self) -> None:
        try:
            if self.moderator:
                status, body = await self.run.pool.request("GET", "/moderateur/conversations", self.headers())
                if status == 200:
                    self.conversations.update(int(c) for c in CONVERSATION_ITEM.findall(body.decode()))
                paths = [f"/moderateur/c/{cid}/messages" for cid in sorted(self.conversations)]
            else:
                paths = [self.path]
            for path in paths:
                status, body = await self.run.pool.request("GET", f"{path}?after={self.last_id[path]}", self.headers())
                if status == 200:
                    self.show(body.decode(), path, live=False)
        except Exception:  # noqa: BLE001 - the page tries again at its next reconnect
            self.run.errors["catch-up failed"] += 1

    async def hold_socket(self) -> None:
        """Connect, catch up, read pushes; after a close, reconnect as htmx does (full jitter)."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        retry = 0
        while not self.run.stopping:
            try:
                ws = await connect(self.run.ws_url, origin=self.run.base_url, additional_headers={"Cookie": self.cookie},
                                   user_agent_header=USER_AGENT, proxy=None, open_timeout=15, ping_interval=None,
                                   close_timeout=2, max_size=None)
            except Exception:  # noqa: BLE001 - refused or failed handshake: like a close
                self.closes["handshake failed"] += 1
            else:
                retry = 0
                self.connects += 1
                await self.catch_up()
                try:
                    async for frame in ws:
                        self.show(frame if isinstance(frame, str) else frame.decode(), None, live=True)
                except ConnectionClosed as exc:
                    self.closes[exc.rcvd.code if exc.rcvd else "no close frame"] += 1
                if self.run.stopping:
                    return
            await asyncio.sleep(random.random() * 1.0 * 2 ** min(retry, 6))
            retry += 1


# -- the run ---------------------------------------------------------------------------------
class Run:
    def __init__(self, args, base_url: str, port: int):
        self.args, self.base_url = args, base_url
        self.ws_url = base_url.replace("http", "ws") + "/ws"
        self.pool = HTTPPool(port, size=128)
        self.tag = uuid.uuid4().hex[:6]
        self.stopping = False
        self.clients: list[Page] = []
        self.moderators: list[Page] = []
        self.conversation_of_client: dict[int, int] = {}  # client index -> conversation id
        self.sent: dict[str, dict] = {}  # marker -> {client, conversation, t, ok, attempts, statuses}
        self.replied: set[str] = set()  # client markers a reply was started for
        self.shown_live_at: dict[str, float] = {}  # client marker -> first live arrival on a moderator page
        self.errors: Counter = Counter()
        self.http_errors_at: list[tuple[float, str]] = []

    def marker(self, kind: str, seq: int) -> str:
        return f"fk{self.tag}{kind}{seq:06d}z"

    def catchup_path_of(self, marker: str) -> str | None:
        info = self.sent.get(marker)
        if info is None or info["conversation"] is None:
            return None
        return f"/moderateur/c/{info['conversation']}/messages"

    def on_shown(self, page: Page, msg_id: int, marker: str, live: bool) -> None:
        info = self.sent.get(marker)
        if page.moderator and info is not None and info["kind"] == "c":
            if live and marker not in self.shown_live_at:
                self.shown_live_at[marker] = time.monotonic()
            if marker not in self.replied and not self.stopping_replies and info["conversation"] is not None:
                self.replied.add(marker)
                seq = int(marker[9:15])
                asyncio.get_running_loop().create_task(self.reply(page, info["conversation"], seq))

    stopping_replies = False

    async def send(self, page: Page, path: str, marker: str, kind: str, conversation: int | None,
                   give_up_after: float = 40.0) -> None:
        """POST a message as its page would, until it is answered 200 or ``give_up_after``."""
        info = self.sent.setdefault(marker, {"kind": kind, "client": page.index, "conversation": conversation,
                                             "t": time.monotonic(), "ok": False, "attempts": 0, "statuses": Counter(),
                                             "tokens": 0})
        token = uuid.uuid4().hex
        info["tokens"] += 1
        deadline = time.monotonic() + give_up_after
        while time.monotonic() < deadline:
            info["attempts"] += 1
            body = urlencode({"body": f"faults {marker} bonjour", "client_token": token}).encode()
            headers = {**page.headers(), "Content-Type": "application/x-www-form-urlencoded"}
            try:
                status, _ = await self.pool.request("POST", path, headers, body, timeout=20)
            except Exception as exc:  # noqa: BLE001 - a network failure: the page keeps the token
                info["statuses"]["network"] += 1
                self.http_errors_at.append((time.monotonic(), type(exc).__name__))
                await asyncio.sleep(1.0)
                continue
            info["statuses"][status] += 1
            if status == 200:
                info["ok"] = True
                info["answered"] = time.monotonic()
                return
            self.http_errors_at.append((time.monotonic(), str(status)))
            if status in (403, 404, 409, 422):
                return  # refused for good (a moderator no longer holding the conversation)
            await asyncio.sleep(1.0)  # the person sends the restored text again: a new token
            token = uuid.uuid4().hex
            info["tokens"] += 1

    async def client_message(self, seq: int) -> None:
        k = seq % len(self.clients)
        page = self.clients[k]
        await self.send(page, page.send_path, self.marker("c", seq), "c", self.conversation_of_client.get(k))

    async def reply(self, page: Page, conversation: int, seq: int) -> None:
        await asyncio.sleep(random.uniform(0.1, 0.5))
        await self.send(page, f"/moderateur/c/{conversation}/messages", self.marker("r", seq), "r", conversation)


def stored_markers(setup, tag: str) -> tuple[Counter, dict]:
    """Messages of this run in the database: marker -> rows, and marker -> conversation id."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Message

    rows = Counter()
    where = {}
    with setup.app.app_context():
        db.engine.dispose()  # this process's own pool may hold connections from before a restart
        for body, conversation_id in db.session.execute(
                select(Message.body, Message.conversation_id).where(Message.body.like(f"%fk{tag}%"))):
            marker = re.search(rf"fk{tag}[cr]\d{{6}}z", body).group(0)
            rows[marker] += 1
            where[marker] = conversation_id
        db.session.remove()
    return rows, where


def conversation_ids(setup, client_ids: list[int]) -> dict[int, int]:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Conversation

    with setup.app.app_context():
        found = dict(db.session.execute(select(Conversation.client_id, Conversation.id)
                                        .where(Conversation.client_id.in_(client_ids))).all())
        db.session.remove()
    return {k: found[uid] for k, uid in enumerate(client_ids) if uid in found}


def online_moderators(setup) -> int:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Role, User

    with setup.app.app_context():
        n = db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.MODERATOR,
                                                                             User.is_online.is_(True)))
        db.session.remove()
    return n


def enqueue_mail(setup, seq: int, tag: str) -> str:
    from app.jobs import enqueue_email

    subject = f"faults mail {tag}-{seq:05d}"
    with setup.app.app_context():
        enqueue_email(f"moderator{seq}@example.test", subject, "A mail sent by a job.")
    return subject


def running_mail_jobs(setup) -> list[str]:
    """Subjects of the mails being sent now."""
    from app.jobs import get_queue

    with setup.app.app_context():
        return [job.args[1] for job in (get_queue("high").fetch_job(i)
                                        for i in get_queue("high").started_job_registry.get_job_ids()) if job]


def failed_jobs(setup) -> int:
    from app.jobs import get_queue

    with setup.app.app_context():
        return sum(len(get_queue(q).failed_job_registry) for q in setup.app.config["RQ_QUEUES"])


async def scenario(args, name: str, setup, server, infra, worker, scheduler, sink, run: Run, client_ids) -> dict:
    loop = asyncio.get_running_loop()
    sockets = [loop.create_task(p.hold_socket()) for p in run.moderators]
    await asyncio.sleep(0.5)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and await loop.run_in_executor(None, online_moderators, setup) < len(run.moderators):
        await asyncio.sleep(0.25)
    # First messages, one after the other (the least-loaded rule spreads the conversations).
    for k in range(len(run.clients)):
        await run.send(run.clients[k], run.clients[k].send_path, run.marker("c", 900000 + k), "c", None)
    run.conversation_of_client = await loop.run_in_executor(None, conversation_ids, setup, client_ids)
    for k, info in ((int(m[9:15]) - 900000, i) for m, i in run.sent.items()):
        info["conversation"] = run.conversation_of_client.get(k)
    for k, page in enumerate(run.clients):
        page.path = page.send_path
    sockets += [loop.create_task(p.hold_socket()) for p in run.clients]
    await asyncio.sleep(2.0)

    total = int(args.rate * (args.before + args.after))
    fault_at_seq = int(args.rate * args.before)
    tasks, fault, mails, fault_t = [], {}, [], time.monotonic()
    backends_max = 0
    start = time.monotonic()
    mail_every = 2.0
    next_mail = start
    for seq in range(total):
        target = start + seq / args.rate
        while time.monotonic() < target:
            await asyncio.sleep(min(0.05, max(0.0, target - time.monotonic())))
        if name == "worker-kill" and time.monotonic() >= next_mail:
            mails.append(await loop.run_in_executor(None, enqueue_mail, setup, len(mails), run.tag))
            next_mail += mail_every
        if seq == fault_at_seq:
            fault = await inject(args, name, setup, server, infra, worker, scheduler)
            fault_t = fault["at"]
            fault["wall"] = time.time() - (time.monotonic() - fault_t)
        if seq % 20 == 0 and name != "postgres-restart":
            try:
                backends_max = max(backends_max, await loop.run_in_executor(None, infra["pg"].backends))
            except Exception:  # noqa: BLE001
                pass
        tasks.append(loop.create_task(run.client_message(seq)))
    await asyncio.gather(*tasks)
    run.stopping_replies = True
    await asyncio.sleep(3.0)  # replies under way
    drain_until = time.monotonic() + args.drain
    while time.monotonic() < drain_until:
        await asyncio.sleep(0.5)
        if name == "worker-kill" and mails and set(mails) <= set(sink.subjects()) and \
                time.monotonic() > drain_until - args.drain + 5:
            break
    run.stopping = True  # no last catch-up: a page shows what pushes and its reconnects brought
    for t in sockets:
        t.cancel()
    await asyncio.gather(*sockets, return_exceptions=True)
    return account(args, name, setup, run, fault, fault_t, mails, sink, worker, scheduler, backends_max)


async def inject(args, name, setup, server, infra, worker, scheduler) -> dict:
    loop = asyncio.get_running_loop()
    if name == "web-kill":
        pid = server.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return {"at": time.monotonic(), "killed_web_worker": pid}
    if name == "redis-restart":
        t = time.monotonic()
        await loop.run_in_executor(None, infra["redis"].stop)
        await asyncio.sleep(args.outage)
        await loop.run_in_executor(None, infra["redis"].start)
        return {"at": t, "down_seconds": round(time.monotonic() - t, 2)}
    if name == "postgres-restart":
        t = time.monotonic()
        await loop.run_in_executor(None, infra["pg"].stop)
        await asyncio.sleep(args.outage)
        await loop.run_in_executor(None, infra["pg"].start)
        return {"at": t, "down_seconds": round(time.monotonic() - t, 2)}
    # worker-kill: wait until a mail job runs, then kill
    deadline = time.monotonic() + 20
    running = []
    while time.monotonic() < deadline and not running:
        running = await loop.run_in_executor(None, running_mail_jobs, setup)
        await asyncio.sleep(0.05)
    killed = worker.kill(with_job=args.worker_kill == "all") if args.worker_kill == "all" else _kill_horse(worker)
    t = time.monotonic()
    if args.worker_kill == "all":
        await asyncio.sleep(1.0)
        worker.start()  # as a supervisor would
    return {"at": t, "killed_pids": killed, "mode": args.worker_kill, "mails_being_sent": running}


def _kill_horse(worker: Background) -> list[int]:
    """SIGKILL the process running the job: RQ's work horse, the worker's child that leads a
    process group of its own (RQ's scheduler, its other child, stays in the worker's)."""
    import psutil

    horses = [c for c in psutil.Process(worker.proc.pid).children() if os.getpgid(c.pid) == c.pid]
    for horse in horses:
        horse.kill()
    return [h.pid for h in horses]


def account(args, name, setup, run: Run, fault, fault_t, mails, sink, worker, scheduler, backends_max) -> dict:
    stored, stored_where = stored_markers(setup, run.tag)
    kinds = {"c": "client_messages", "r": "replies"}
    shown_on_moderators, shown_on_clients = defaultdict(set), defaultdict(set)
    live_mod, dup_on_pages = set(), 0
    for page in run.moderators:
        for msg_id, marker in page.shown.items():
            shown_on_moderators[marker].add(msg_id)
            if msg_id in page.live_ids:
                live_mod.add(marker)
    for page in run.clients:
        for msg_id, marker in page.shown.items():
            shown_on_clients[marker].add(msg_id)
    for page in run.clients + run.moderators:
        markers = Counter(page.shown.values())
        dup_on_pages += sum(n - 1 for n in markers.values() if n > 1)
    result = {}
    for kind, label in kinds.items():
        markers = [m for m, i in run.sent.items() if i["kind"] == kind and not (kind == "c" and int(m[9:15]) >= 900000)]
        answered = [m for m in markers if run.sent[m]["ok"]]
        shown = shown_on_moderators if kind == "c" else shown_on_clients
        st = [m for m in markers if stored[m]]
        result[label] = {
            "sent": len(markers), "answered_200": len(answered), "stored": len(st),
            "stored_twice": sum(1 for m in markers if stored[m] > 1),
            "answered_but_not_stored": sum(1 for m in answered if not stored[m]),
            "stored_not_shown": sum(1 for m in st if not shown[m]),
            "shown_live": sum(1 for m in st if kind == "c" and m in live_mod),
            "never_answered": len(markers) - len(answered),
            "statuses": dict(sum((run.sent[m]["statuses"] for m in markers), Counter())),
        }
    errors_after = [t - fault_t for t, _ in run.http_errors_at if t >= fault_t - 1]
    recovered = [run.shown_live_at[m] - fault_t for m, i in run.sent.items()
                 if i["kind"] == "c" and i["t"] >= fault_t and i["ok"] and m in run.shown_live_at]
    record = {
        "scenario": name, "fault": {k: v for k, v in fault.items() if k not in ("at", "wall")},
        **result,
        "duplicates_on_pages": dup_on_pages,
        "duplicate_pushes_dropped_by_id": sum(p.duplicate_pushes for p in run.clients + run.moderators),
        "recovery_seconds": round(min(recovered), 2) if recovered else None,
        "errors_seen_until_s_after_fault": round(max(errors_after), 2) if errors_after else 0,
        "http_errors": dict(Counter(kind for _, kind in run.http_errors_at)),
        "socket_closes": dict(sum((Counter({str(k): v for k, v in p.closes.items()}) for p in run.clients + run.moderators), Counter())),
        "socket_connects": sum(p.connects for p in run.clients + run.moderators),
        "other_errors": dict(run.errors),
        "postgres_backends_max": backends_max,
        "worker_alive_at_end": worker.alive(), "scheduler_alive_at_end": scheduler.alive(),
        "worker_starts": worker.starts,
    }
    if mails:
        got = sink.subjects()
        record["mails"] = {"queued": len(mails), "delivered": sum(1 for m in mails if got[m]),
                           "delivered_twice_or_more": sum(1 for m in mails if got[m] > 1),
                           "lost": sum(1 for m in mails if not got[m]), "failed_jobs": failed_jobs(setup),
                           "killed_mail_delivered_s_after_fault": _delivered_after(sink, fault)}
    return record


def _delivered_after(sink: SlowMailSink, fault: dict) -> float | None:
    at = sink.delivered_at()
    times = [at[s] - fault["wall"] for s in fault.get("mails_being_sent", []) if s in at]
    return round(max(times), 1) if times else None


def lost_total(record: dict) -> int:
    lost = 0
    for label in ("client_messages", "replies"):
        r = record[label]
        lost += r["answered_but_not_stored"] + r["stored_not_shown"]
    return lost + record.get("mails", {}).get("lost", 0)


def duplicated_total(record: dict) -> int:
    return (record["client_messages"]["stored_twice"] + record["replies"]["stored_twice"] + record["duplicates_on_pages"]
            + record.get("mails", {}).get("delivered_twice_or_more", 0))


def run_scenario(args, name: str, infra, tmp: Path) -> dict:
    import redis

    from login import Cookies
    from run_setup import Setup
    from seeding import create_profiles, create_users
    from servers import Server, running_server

    redis.Redis.from_url(infra["redis"].url).flushdb()
    with Setup("services") as setup:
        setup.prepare()
        mods = create_users(setup, "moderator", args.moderators, "faults-mod")
        client_ids = create_users(setup, "client", args.clients, "faults-client")
        profiles = create_profiles(setup, args.profiles)
        cookies = Cookies(setup.app)
        sink = SlowMailSink(tmp / f"outbox-{name}", args.mail_delay if name == "worker-kill" else 0.0)
        extra = {"MAIL_PORT": sink.port, "MAIL_SERVER": "127.0.0.1", "LOG_LEVEL": "info"}
        if args.pre_ping:
            extra["DB_POOL_PRE_PING"] = "1"
        server = Server(setup, workers=args.workers, **extra)
        env = {**server.env, "WORKER_LOG_LEVEL": "INFO"}
        worker = Background(env, tmp / f"worker-{name}.log")
        scheduler = Background(env, tmp / f"scheduler-{name}.log", "--scheduler")
        try:
            with running_server(server):
                worker.start()
                scheduler.start()
                run = Run(args, server.url, server.port)
                for k, uid in enumerate(client_ids):
                    cookie, csrf = cookies.for_user(uid)
                    page = Page(run, k, cookie, csrf, moderator=False)
                    page.send_path = f"/profiles/{profiles[k % len(profiles)]}/messages"
                    run.clients.append(page)
                for k, uid in enumerate(mods):
                    cookie, csrf = cookies.for_user(uid)
                    run.moderators.append(Page(run, k, cookie, csrf, moderator=True))
                record = asyncio.run(scenario(args, name, setup, server, infra, worker, scheduler, sink, run,
                                              client_ids))
                record["server"] = server.report()
                record["app_commit"] = server.app_commit
        finally:
            worker.stop()
            scheduler.stop()
            sink.stop()
        record["worker_log_tail"] = (tmp / f"worker-{name}.log").read_text(errors="replace").splitlines()[-8:]
        record["scheduler_log_tail"] = (tmp / f"scheduler-{name}.log").read_text(errors="replace").splitlines()[-5:]
    return record


def main(argv=None) -> int:
    args = parse_args(argv)
    raise_nofile()
    tmp = Path(tempfile.mkdtemp(prefix="switchboard-faults-"))
    pg, rd = PrivatePostgres(tmp), PrivateRedis(tmp)
    pg.start()
    pg.create_database()
    rd.start()
    os.environ.update({"DATABASE_URL": pg.url, "REDIS_URL": rd.url})
    infra = {"pg": pg, "redis": rd}
    failed = 0
    try:
        for name in args.scenarios:
            print(f"faults: {name} (clients {args.clients}, moderators {args.moderators}, {args.rate:g} msg/s, "
                  f"fault after {args.before:g} s, {args.workers} web workers)", flush=True)
            record = run_scenario(args, name, infra, tmp)
            record.update({"when": now_iso(), "machine": machine(), "clients": args.clients,
                           "moderators": args.moderators, "rate": args.rate, "workers": args.workers,
                           "outage_s": args.outage, "pre_ping": args.pre_ping,
                           "lost": lost_total(record), "duplicated": duplicated_total(record)})
            key = name + (f"-{args.worker_kill}" if name == "worker-kill" else "") + ("-pre_ping" if args.pre_ping else "")
            (ROOT / "bench" / "results" / "faults").mkdir(parents=True, exist_ok=True)
            path = write_result("faults/faults", key, record)
            c, r = record["client_messages"], record["replies"]
            mails = record.get("mails")
            print(f"SUMMARY faults {key}: lost {record['lost']}, duplicated {record['duplicated']}; client messages "
                  f"answered {c['answered_200']}/{c['sent']}, stored {c['stored']}, shown {c['stored'] - c['stored_not_shown']} "
                  f"({c['shown_live']} live); replies answered {r['answered_200']}/{r['sent']}, stored {r['stored']}, "
                  f"shown {r['stored'] - r['stored_not_shown']}; recovery {record['recovery_seconds']} s; HTTP errors "
                  f"{record['http_errors']}"
                  + (f"; mails {mails['delivered']}/{mails['queued']} delivered, {mails['delivered_twice_or_more']} twice, "
                     f"failed jobs {mails['failed_jobs']}, the one being sent when killed arrived "
                     f"{mails['killed_mail_delivered_s_after_fault']} s after the kill" if mails else "")
                  + f"; worker alive {record['worker_alive_at_end']}, scheduler alive {record['scheduler_alive_at_end']}"
                  + f" -> {path.relative_to(ROOT)}", flush=True)
            failed += bool(record["lost"] or record["duplicated"])
    finally:
        rd.stop()
        pg.stop()
        if os.environ.get("BENCH_KEEP_TMP"):
            print(f"  kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
