"""Prometheus metrics, served at ``/metrics`` (``blueprints/ops``).

Counted where they happen: each request's duration (by route, method and status), a push's two
legs: from its request's start to its publication (the committed events' subscriber runs right
after the pushes'), then from its arrival in the process holding the socket to the socket write
(Redis's hop between the two processes, when there are two, is in neither); client messages
posted and assignment decisions (from the committed events), and the sockets a process holds. Read at each scrape: every queue's depth, oldest wait and last hour
(``services.job_metrics``), and the rounds sent in the last day.

Several processes (gunicorn's workers, the RQ worker on the same host) share one
``PROMETHEUS_MULTIPROC_DIR`` (emptied before the server starts): each writes its own files and a
scrape adds them up (prometheus_client's multiprocess mode; ``gunicorn.conf.py`` marks a worker
that exits as dead). Without it, each process counts for itself.
"""
from __future__ import annotations

import os
import time
from datetime import timedelta

from flask import current_app, g, has_request_context, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

REQUEST_SECONDS = Histogram("switchboard_http_request_duration_seconds", "Time to answer a request",
                            ("method", "route", "status"),
                            buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
PUSH_SECONDS = Histogram("switchboard_push_publish_seconds",
                         "From a request's start to the publication of the pushes its commit calls for",
                         buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))
SOCKET_WRITE_SECONDS = Histogram("switchboard_push_socket_write_seconds",
                                 "From a push reaching this process (published here, or heard from Redis) "
                                 "to its socket write", buckets=(.001, .002, .005, .01, .025, .05, .1, .25, 1))
MESSAGES = Counter("switchboard_client_messages_total", "Client messages stored")
DECISIONS = Counter("switchboard_assignment_decisions_total", "Conversations given to a moderator or moved",
                    ("kind",))
SOCKETS = Gauge("switchboard_sockets_open", "WebSockets held", multiprocess_mode="livesum")


def init_app(app) -> None:
    from .services import events

    @app.before_request
    def started():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observed(response):
        started_at = g.get("metrics_started")
        if started_at is not None and request.endpoint != "ops.metrics":
            route = request.url_rule.rule if request.url_rule else "(none)"
            REQUEST_SECONDS.labels(request.method, route, str(response.status_code)).observe(
                time.perf_counter() - started_at)
        return response

    events.subscribe(counted)


def counted(happened: list) -> None:
    """After a commit (and its pushes): what it recorded."""
    from .services import events

    pushed = False
    for e in happened:
        if isinstance(e, events.MessagePosted):
            pushed = True
            sender = getattr(e.message, "sender", None)
            if getattr(sender, "value", sender) == "client":
                MESSAGES.inc()
        elif isinstance(e, events.WorkAssigned):
            DECISIONS.labels("assigned").inc()
        elif isinstance(e, events.WorkMoved):
            DECISIONS.labels("moved").inc(len(e.conversation_ids))
    if pushed and has_request_context() and g.get("metrics_started") is not None:
        PUSH_SECONDS.observe(time.perf_counter() - g.metrics_started)


class _Figures:
    """Read at each scrape: the queues (from Redis) and the rounds of the last day (the database)."""

    def collect(self):
        from .clock import utcnow
        from .extensions import db
        from .models import NotificationRound
        from .redis_client import get_redis, names
        from .services import job_metrics, operations

        config = current_app.config
        queues = operations.queue_figures(get_redis(), names(), job_metrics.Settings.from_config(config),
                                          config["RQ_QUEUES"], time.time())
        depth = GaugeMetricFamily("switchboard_queue_depth", "Jobs waiting", labels=["queue"])
        oldest = GaugeMetricFamily("switchboard_queue_oldest_wait_seconds", "How long the oldest waiting job has waited",
                                   labels=["queue"])
        ended = GaugeMetricFamily("switchboard_jobs_last_hour", "Jobs ended in the last hour, by outcome",
                                  labels=["queue", "outcome"])
        run_p95 = GaugeMetricFamily("switchboard_job_run_p95_seconds", "Run time p95 over the last hour",
                                    labels=["queue"])
        for q in queues:
            depth.add_metric([q.name], q.depth)
            oldest.add_metric([q.name], q.oldest_wait or 0)
            for outcome, count in (("ok", q.ended - q.failed), ("retried", q.retried), ("failed", q.failed)):
                ended.add_metric([q.name, outcome], count)
            run_p95.add_metric([q.name], q.run_p95 or 0)
        rounds = GaugeMetricFamily("switchboard_rounds_last_day", "E-mail rounds sent in the last 24 hours")
        rounds.add_metric([], db.session.scalar(db.select(db.func.count()).select_from(NotificationRound).where(
            NotificationRound.sent_at >= utcnow() - timedelta(days=1))) or 0)
        db.session.rollback()
        yield from (depth, oldest, ended, run_p95, rounds)


def exposition() -> bytes:
    """The text a scrape reads: this process's metrics (or every process's, in multiprocess
    mode) and the figures read now."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in (REQUEST_SECONDS, PUSH_SECONDS, SOCKET_WRITE_SECONDS, MESSAGES, DECISIONS, SOCKETS):
            registry.register(collector)
    registry.register(_Figures())
    return generate_latest(registry)
