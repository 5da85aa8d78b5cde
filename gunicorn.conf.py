"""gunicorn settings for Switchboard's web processes (gevent: a greenlet per open socket, outside any request).

No preload: the app (and psycopg) must be imported after gevent patches the process.
"""
import gc
import multiprocessing
import os

bind = os.environ.get("BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", max(1, multiprocessing.cpu_count())))
worker_class = "gevent"
# HTTP connections served at once; an open socket is one only during its handshake (WS_MAX_SOCKETS
# caps the sockets a process holds).
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "10000"))
timeout = 60
graceful_timeout = 5
keepalive = 5
preload_app = False
control_socket_disable = True
accesslog = os.environ.get("ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")

# gevent's debugging aid off: a greenlet would keep who spawned it and the spawning stack's
# frames, for each socket as long as it is open (GEVENT_TRACK_GREENLET_TREE=1 brings it back for
# a debugging session).
os.environ.setdefault("GEVENT_TRACK_GREENLET_TREE", "0")


def post_worker_init(worker):
    import gevent

    gevent.spawn(_close_sockets_when_stopping, worker)
    # Objects alive after start-up never need scanning again: shorter GC pauses.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*gc_thresholds(os.environ))
    threshold_ms = float(os.environ.get("GC_PAUSE_LOG_MS") or 0)
    if threshold_ms:
        _log_gc_pauses(threshold_ms)
    if os.environ.get("MEMORY_REPORT_DIR"):
        _report_memory_on_sigusr2(os.environ["MEMORY_REPORT_DIR"], int(os.environ.get("MEMORY_TRACE_FRAMES") or 30))


def gc_thresholds(environ) -> tuple[int, int, int]:
    """The worker's garbage-collection thresholds: ``GC_GEN0_THRESHOLD`` (10,000; CPython's is 700),
    then CPython's 10 and 10.

    Every young collection that runs while a request is under way moves the request's objects one
    generation older; twice, and they count towards the next full collection, which scans every
    socket's objects (long pauses with a thousand sockets in one worker). Fewer young collections,
    fewer full ones, for the same CPU per message: compare with ``bench/push_latency.py --setup
    services --moderators 1000 --rate 100`` and ``GC_PAUSE_LOG_MS=10``, run alternately."""
    raw = environ.get("GC_GEN0_THRESHOLD") or "10000"
    try:
        gen0 = int(raw)
    except ValueError:
        raise RuntimeError(f"GC_GEN0_THRESHOLD must be a whole number of allocations, not {raw!r}") from None
    if gen0 < 1:
        raise RuntimeError(f"GC_GEN0_THRESHOLD must be at least 1, not {gen0}")
    return gen0, 10, 10


def _log_gc_pauses(threshold_ms: float) -> None:
    """Diagnosis: log every garbage collection of this worker that takes longer than the threshold
    (a pause stops every greenlet: every socket and request of the process waits).

    Written straight to stderr: a collection can run while a greenlet is being finalized, where
    the logging module (it asks for the current thread) raises."""
    import sys
    import time

    started = {}
    pid = os.getpid()

    def callback(phase, info):
        if phase == "start":
            started["at"] = time.perf_counter()
        elif "at" in started:
            ms = (time.perf_counter() - started.pop("at")) * 1000
            if ms >= threshold_ms:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime())
                sys.stderr.write(f"[{stamp}] [{pid}] [WARNING] gc pause {ms:.1f} ms "
                                 f"(generation {info['generation']}, {info['collected']} collected)\n")

    gc.callbacks.append(callback)


def _report_memory_on_sigusr2(directory: str, frames: int) -> None:
    """Diagnosis: trace this worker's allocations from now on; on SIGUSR2 write to ``directory``
    ``worker-<pid>-<n>.tracemalloc`` (a snapshot, for ``Snapshot.compare_to``) and
    ``worker-<pid>-<n>.json`` (live objects by type; greenlets by type with the C stack each kind
    keeps saved on the heap), ``<n>`` counting the reports from 0. Tracing makes every allocation
    slower and bigger: never read figures of time or RSS from a worker that traces."""
    import itertools
    import json
    import signal
    import tracemalloc
    from collections import Counter

    import greenlet

    tracemalloc.start(frames)
    numbers = itertools.count()

    def name(obj) -> str:
        return f"{type(obj).__module__}.{type(obj).__qualname__}"

    def report(_signum, _frame):
        gc.collect()
        base = os.path.join(directory, f"worker-{os.getpid()}-{next(numbers)}")
        tracemalloc.take_snapshot().dump(base + ".tracemalloc")
        objects = gc.get_objects()
        greenlets, stacks = Counter(), Counter()
        for g in objects:
            if isinstance(g, greenlet.greenlet):
                greenlets[name(g)] += 1
                stacks[name(g)] += g._stack_saved
        with open(base + ".json.part", "w") as f:
            json.dump({"objects": len(objects), "by_type": dict(Counter(map(name, objects)).most_common(80)),
                       "greenlets": dict(greenlets), "greenlet_stack_saved_bytes": dict(stacks),
                       "traced_bytes": tracemalloc.get_traced_memory()[0]}, f, indent=1)
        os.replace(base + ".json.part", base + ".json")  # complete once it has its name

    signal.signal(signal.SIGUSR2, report)


_quick_exit = False


def worker_int(worker):
    """SIGINT or SIGQUIT: the quick shutdown, nothing waited for."""
    global _quick_exit
    _quick_exit = True


def _close_sockets_when_stopping(worker) -> None:
    """A worker told to stop gracefully (SIGTERM: a stop, a restart, a reload) closes the sockets
    it holds itself, while it finishes its requests: each page is told to reconnect (1012), to
    another process, at once, and each socket is recorded closed, instead of dropping with the
    process and lingering in presence until it goes stale. Their greenlets are outside gunicorn's
    requests: nothing else ends them."""
    import gevent

    while worker.alive:
        gevent.sleep(0.2)
    flask_app = getattr(worker, "wsgi", None)
    if _quick_exit or "hub" not in getattr(flask_app, "extensions", {}):
        return
    from app.realtime.socket import close_all

    left = close_all(flask_app, within=flask_app.config["WS_CLOSE_WAIT_SECONDS"] + 1)
    if left:
        worker.log.warning("%d sockets still open when the worker exits", left)


def child_exit(server, worker):
    """A worker gone: its live gauges (sockets held) no longer count in /metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
