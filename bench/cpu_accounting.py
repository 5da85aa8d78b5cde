"""CPU time by whom: this process, a given one, the database and Redis, and the whole machine (others' programs)."""
from __future__ import annotations

import time

import psutil


def own_cpu() -> float:
    t = psutil.Process().cpu_times()
    return t.user + t.system


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
    """CPU seconds the Redis servers and ``database``'s backends used since the ``before`` snapshot."""
    after = services_cpu_snapshot(database)
    return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())
