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
