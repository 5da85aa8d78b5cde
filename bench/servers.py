"""The server under test: a gunicorn process on a free port, started and stopped around a run."""
from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from typing import Iterator

import psutil

from http_clients import http_session
from project import PYTHON, ROOT, app_version
from run_setup import Setup
from server_log import ServerLog


def raise_nofile() -> int:
    """Raise the soft open-files limit to the hard one (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def smaps_rollup(pid: int) -> dict:
    """A process's resident memory in bytes: ``rss``, ``pss`` (shared pages divided among their
    users) and ``uss`` (private pages only: what the process would give back by exiting)."""
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            name, _, rest = line.partition(":")
            parts = rest.split()
            if len(parts) == 2 and parts[1] == "kB":
                fields[name] = int(parts[0]) * 1024
    return {"rss": fields["Rss"], "pss": fields["Pss"],
            "uss": fields["Private_Clean"] + fields["Private_Dirty"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_url_with_cap(url: str, max_connections: int | None) -> str:
    """REDIS_URL with redis-py's pool cap (default 100) raised through the URL's query."""
    if not max_connections:
        return url
    return f"{url}{'&' if '?' in url else '?'}max_connections={max_connections}"


def server_env(setup: Setup, blocking_report: float = 0.0, redis_max_connections: int | None = None) -> dict:
    """The server's extra environment for the diagnosis options --blocking-report and --redis-max-connections."""
    env = {}
    if blocking_report:
        env.update(GEVENT_MONITOR_THREAD_ENABLE="true", GEVENT_MAX_BLOCKING_TIME=blocking_report)
    if redis_max_connections:
        env["REDIS_URL"] = redis_url_with_cap(setup.env["REDIS_URL"], redis_max_connections)
        env["REDIS_MAX_CONNECTIONS"] = redis_max_connections
    return env


class Server:
    """``gunicorn -c gunicorn.conf.py`` (gevent) serving Switchboard from the project root, on a free port."""

    name = "server"
    ready_path = "/login"

    def __init__(self, setup: Setup, workers: int = 1, **extra_env):
        self.setup = setup
        self.port = free_port()
        self.workers = workers
        self.env = {**os.environ, **setup.env, "PUBLIC_URL": self.url,
                    **{k: str(v) for k, v in extra_env.items()}}
        self.log = ServerLog(setup.tmp / f"web-{self.port}.log")
        self.gunicorn_args = ["-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
                              "--workers", str(self.workers), "wsgi:app"]
        self.proc: subprocess.Popen | None = None
        self.app_commit = "not started"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self, timeout: float = 30.0) -> "Server":
        """Run gunicorn in a process group of its own; return once ``ready_path`` answers and every worker is up."""
        import requests

        http = http_session()
        self.app_commit = app_version()
        with open(self.log.path, "ab") as log:
            self.proc = subprocess.Popen([PYTHON, "-m", "gunicorn", *self.gunicorn_args], cwd=ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}); see {self.log.path}:\n{self.log.tail()}")
            try:
                if http.get(self.url + self.ready_path, timeout=2).status_code == 200 and \
                        len(self.worker_pids()) == self.workers:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready on {self.url}:\n{self.log.tail()}")

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

    def worker_memory(self) -> dict:
        """RSS, PSS and USS (bytes) of the web worker processes, summed, from /proc/<pid>/smaps_rollup."""
        total = {"rss": 0, "pss": 0, "uss": 0}
        for pid in self.worker_pids():
            for key, value in smaps_rollup(pid).items():
                total[key] += value
        return total

    def report(self) -> dict:
        """What the server's log says of a run: tracebacks (the first ones in full), counted errors,
        gevent's blocked-hub reports, and where the log is."""
        errors = self.log.count("Traceback")
        report = {"server_tracebacks": errors, "server_errors": self.error_counts(),
                  "server_log": str(self.log.path), "gevent_blocking_reports": self.log.count("appears to be blocked")}
        if errors:
            report["server_first_errors"] = self.log.first_tracebacks()
        return report

    def error_counts(self) -> dict:
        """Problems the server logged so far."""
        return {"tracebacks": self.log.count("Traceback"),
                "redis_too_many_connections": self.log.count("Too many connections"),
                "hub_subscription_lost": self.log.count("hub subscription lost"),
                "queue_full_drops": self.log.count("socket queue full")}

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


@contextmanager
def running_server(server: Server) -> Iterator[Server]:
    """``server`` started for the ``with`` block and stopped however the block ends, a failed start included."""
    try:
        yield server.start()
    finally:
        server.stop()
