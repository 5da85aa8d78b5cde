"""GC_PAUSE_LOG_MS: a web worker reports its long garbage collections, and only those."""
from __future__ import annotations

import re

import pytest
import requests

from tests.support.processes import WebServer
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.database_independent]


def _pauses(server: WebServer) -> list[float]:
    return [float(ms) for ms in re.findall(r"gc pause ([0-9.]+) ms \(generation \d, \d+ collected\)",
                                           server.log.read_text(errors="replace"))]


def test_a_worker_logs_its_collections_longer_than_the_threshold(app):
    # Every collection is "long", and young ones come often.
    server = WebServer(GC_PAUSE_LOG_MS="0.0001", GC_GEN0_THRESHOLD="100").start()
    try:
        before = len(_pauses(server))
        for _ in range(20):  # requests allocate: the worker collects
            assert requests.get(f"{server.url}/login", timeout=10).status_code == 200
        wait_until(lambda: len(_pauses(server)) > before, timeout=10)
    finally:
        server.stop()
    # A failing GC callback prints "Exception ignored in: <function ...callback>".
    assert "Exception ignored" not in server.log.read_text(errors="replace")


def test_no_report_without_the_setting(app):
    server = WebServer(GC_GEN0_THRESHOLD="100").start()
    try:
        for _ in range(20):
            assert requests.get(f"{server.url}/login", timeout=10).status_code == 200
    finally:
        server.stop()
    assert _pauses(server) == []
