"""`make run`'s supervision: a crashed worker or scheduler waits a delay that doubles with each
crash in a row up to a cap, starts over once it stayed up long enough, and a child that keeps
crashing is started again at that capped rate, never in a tight loop."""
from __future__ import annotations

import re
import sys
import threading
import time

import pytest

from app.dev import launcher as launcher_module
from app.dev.launcher import Backoff, Child, Launcher

pytestmark = pytest.mark.database_independent


def test_the_delay_doubles_with_each_crash_in_a_row_up_to_the_cap():
    backoff = Backoff(first=1, cap=30, stable=60)
    assert [backoff.after_crash(uptime=2) for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_child_that_stayed_up_long_enough_waits_the_first_delay_again():
    backoff = Backoff(first=1, cap=30, stable=60)
    assert [backoff.after_crash(uptime=5) for _ in range(3)] == [1, 2, 4]
    assert backoff.after_crash(uptime=59) == 8
    assert backoff.after_crash(uptime=60) == 1
    assert backoff.after_crash(uptime=0.1) == 2


def test_the_launchers_delays_are_the_named_settings():
    launcher = Launcher()
    assert set(launcher.backoffs) == {"worker", "scheduler"}
    for backoff in launcher.backoffs.values():
        assert (backoff.first, backoff.cap, backoff.stable) == (
            launcher_module.RESTART_FIRST_DELAY_SECONDS, launcher_module.RESTART_MAX_DELAY_SECONDS,
            launcher_module.RESTART_STABLE_SECONDS)
    assert launcher_module.RESTART_FIRST_DELAY_SECONDS > 0  # never a tight loop


@pytest.mark.slow
def test_a_worker_that_keeps_crashing_is_started_again_at_the_capped_rate(monkeypatch, capsys):
    """A real process that exits at once with code 3, supervised for 1.5 s with a first delay of
    0.05 s and a cap of 0.2 s: every crash is logged with its delay, the delays follow the series,
    and the starts are spaced by them."""
    monkeypatch.setattr(launcher_module, "RESTART_FIRST_DELAY_SECONDS", 0.05)
    monkeypatch.setattr(launcher_module, "RESTART_MAX_DELAY_SECONDS", 0.2)
    launcher = Launcher()
    launcher.children["worker"] = Child("worker", [sys.executable, "-c", "raise SystemExit(3)"], {})
    starts = [launcher.children["worker"].started]
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        launcher.supervise(time.monotonic())
        if launcher.children["worker"].started != starts[-1]:
            starts.append(launcher.children["worker"].started)
        time.sleep(0.005)
    launcher.children["worker"].stop(threading.Event())

    delays = [float(d) for d in re.findall(r"worker exited unexpectedly \(exit code 3\): next attempt in ([\d.]+) s",
                                           capsys.readouterr().out)]
    assert delays[:4] == [0.05, 0.1, 0.2, 0.2], delays
    assert set(delays[2:]) == {0.2}
    assert len(starts) >= 5  # it is started again, and again
    assert len(starts) <= 1 + 1.5 / 0.2 + 1  # at the capped rate, not more
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert all(gap >= delay for gap, delay in zip(gaps, delays)), (gaps, delays)
