"""`make run`: the launcher, started the way the Makefile starts it, brings up everything on the
embedded default, serves the pages, lets a demo account log in, starts a killed worker again, and
stops cleanly on Ctrl-C; the web server dying stops everything."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest
import requests

from tests.support.processes import ROOT, free_port
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.database_independent]

STARTUP_SECONDS = 90


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    """One instance folder for the module's launches: the later ones find the demo data seeded."""
    return tmp_path_factory.mktemp("launcher") / "instance"


class RunningLauncher:
    """``python -m app.dev.launcher`` on the embedded default, free ports, its output collected."""

    def __init__(self, instance):
        env = {k: v for k, v in os.environ.items()
               if k not in {"DATABASE_URL", "REDIS_URL", "MAIL_SERVER", "MAIL_PORT", "MAIL_OUTBOX_DIR"}}
        self.port, mail_port = free_port(), free_port()
        env.update(SWITCHBOARD_INSTANCE=str(instance), PORT=str(self.port), MAIL_PORT=str(mail_port),
                   PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "app.dev.launcher"], cwd=ROOT, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        self.running = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            if "admin@switchboard.local" in line:  # printed after the "running on" line
                self.running.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_running(self) -> str:
        """The URL printed once the web server answers."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self.running.wait(0.5):
            assert self.proc.poll() is None, "the launcher stopped:\n" + self.output
            assert time.monotonic() < deadline, self.output
        return re.search(r"running on (http://\S+)", self.output).group(1)

    def children(self) -> dict[str, psutil.Process]:
        """The launcher's live children by the name it gives them (web, worker, scheduler, mail)."""
        found = {}
        for child in psutil.Process(self.proc.pid).children():
            try:
                if child.status() == psutil.STATUS_ZOMBIE:
                    continue
                argv = child.cmdline()
            except psutil.Error:
                continue
            if "worker.py" in argv:
                found["scheduler" if "--scheduler" in argv else "worker"] = child
            elif any(part.endswith("gunicorn") for part in argv):
                found["web"] = child
            elif "app.dev.mailsink" in argv:
                found["mail"] = child
        return found

    def wait_until(self, predicate, timeout: float):
        """``predicate``'s first truthy value; failing with the launcher's output."""
        try:
            return wait_until(predicate, timeout=timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the launcher's output:\n{self.output}") from None

    def wait_children(self, *names: str) -> dict[str, psutil.Process]:
        return self.wait_until(lambda: (found := self.children()).keys() >= set(names) and found, timeout=30)

    def wait_exit(self, timeout: float = 60) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self.reader.join(timeout=5)
        return code


def _with_their_children(processes) -> list[psutil.Process]:
    everything = list(processes)
    for proc in processes:
        everything += proc.children(recursive=True)
    return everything


def _alive(processes) -> list[psutil.Process]:
    alive = []
    for proc in processes:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_make_run_serves_the_demo_restarts_a_killed_worker_and_stops_on_ctrl_c(instance):
    launcher = RunningLauncher(instance)
    try:
        url = launcher.wait_running()
        assert url == f"http://127.0.0.1:{launcher.port}/"
        assert "admin@switchboard.local" in launcher.output

        http = requests.Session()
        login = http.get(url + "login", timeout=10)
        assert login.status_code == 200
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login.text).group(1)
        answer = http.post(url + "login", data={"email": "admin@switchboard.local", "password": "demo-password",
                                                "csrf_token": token}, timeout=10, allow_redirects=False)
        assert answer.status_code == 302, answer.text[:500]
        assert http.get(url + "admin/", timeout=10).status_code == 200
        assert (instance / "switchboard.db").exists()

        before = launcher.wait_children("web", "worker", "scheduler", "mail")
        os.kill(before["worker"].pid, signal.SIGKILL)  # a crash: the worker's main process only
        launcher.wait_until(lambda: "worker exited unexpectedly (exit code -9, SIGKILL): next attempt in 1 s"
                            in launcher.output, timeout=10)
        after = launcher.wait_until(lambda: (found := launcher.children()).get("worker")
                                    and found["worker"].pid != before["worker"].pid and found, timeout=10)
        assert [after[name].pid for name in ("web", "scheduler", "mail")] == \
            [before[name].pid for name in ("web", "scheduler", "mail")]
        assert http.get(url + "admin/", timeout=10).status_code == 200
        # the new worker took the queues: its start-up line, after the crash's
        crash = "next attempt in 1 s"
        launcher.wait_until(lambda: re.search(r"switchboard\.worker: worker \w+ on high",
                                              launcher.output.split(crash, 1)[1]), timeout=30)
        assert launcher.proc.poll() is None
        everything = _with_their_children(after.values())
    finally:
        launcher.proc.send_signal(signal.SIGINT)
        code = launcher.wait_exit()
    assert code == 0, launcher.output
    assert _alive(everything) == []
    assert not (ROOT / "app" / "instance").exists()


def test_the_web_server_dying_stops_everything(instance):
    launcher = RunningLauncher(instance)
    try:
        launcher.wait_running()
        children = launcher.wait_children("web", "worker", "scheduler", "mail")
        everything = _with_their_children(children.values())
        os.kill(children["web"].pid, signal.SIGKILL)
        code = launcher.wait_exit(timeout=30)
    finally:
        if launcher.proc.poll() is None:
            launcher.proc.send_signal(signal.SIGINT)
            launcher.wait_exit()
    assert code == 1, launcher.output
    assert "web exited unexpectedly (exit code -9, SIGKILL): stopping everything" in launcher.output
    assert "next attempt" not in launcher.output
    assert _alive(everything) == []
