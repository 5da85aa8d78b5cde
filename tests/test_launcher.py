"""`make run`: the launcher, started the way the Makefile starts it, brings up everything on the
embedded default, serves the pages, lets a demo account log in, and stops cleanly on Ctrl-C."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.support.processes import ROOT, free_port

pytestmark = [pytest.mark.slow, pytest.mark.database_independent]

STARTUP_SECONDS = 90


def test_make_run_serves_the_demo_and_stops_on_ctrl_c(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "MAIL_SERVER", "MAIL_PORT", "MAIL_OUTBOX_DIR"}}
    port, mail_port = free_port(), free_port()
    env.update(SWITCHBOARD_INSTANCE=str(tmp_path / "instance"), PORT=str(port), MAIL_PORT=str(mail_port),
               PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "app.dev.launcher"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: list[str] = []
    running = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if "admin@switchboard.local" in line:  # printed after the "running on" line
                running.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not running.wait(0.5):
            assert proc.poll() is None, "the launcher stopped:\n" + "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
        url = re.search(r"running on (http://\S+)", "".join(lines)).group(1)
        assert url == f"http://127.0.0.1:{port}/"
        assert "admin@switchboard.local" in "".join(lines)

        http = requests.Session()
        login = http.get(url + "login", timeout=10)
        assert login.status_code == 200
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login.text).group(1)
        answer = http.post(url + "login", data={"email": "admin@switchboard.local", "password": "demo-password",
                                                "csrf_token": token}, timeout=10, allow_redirects=False)
        assert answer.status_code == 302, answer.text[:500]
        assert http.get(url + "admin/", timeout=10).status_code == 200
        assert (tmp_path / "instance" / "switchboard.db").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        reader.join(timeout=5)
    assert code == 0, "".join(lines)
    assert not (ROOT / "app" / "instance").exists()
