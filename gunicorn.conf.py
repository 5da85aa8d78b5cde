"""gunicorn settings for Switchboard's web processes (gevent: 2 greenlets per socket).

No preload: the app (and psycopg) must be imported after gevent patches the process.
"""
import gc
import multiprocessing
import os

bind = os.environ.get("BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", max(1, multiprocessing.cpu_count())))
worker_class = "gevent"
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "10000"))
timeout = 60
graceful_timeout = 5
keepalive = 5
preload_app = False
control_socket_disable = True
accesslog = os.environ.get("ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")


def post_worker_init(worker):
    # Objects alive after start-up never need scanning again: shorter GC pauses.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*gc_thresholds(os.environ))
    threshold_ms = float(os.environ.get("GC_PAUSE_LOG_MS") or 0)
    if threshold_ms:
        _log_gc_pauses(threshold_ms)


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
