"""The process's Redis connection pool (one per app), and every Redis key and channel name.

Redis pub/sub ignores the database number: two deployments on one Redis server hear each other's
channels even on different databases. So every name Switchboard writes to Redis (pub/sub channels,
its own keys, Flask-Limiter's keys) starts with the deployment's prefix, ``REDIS_PREFIX``; unset,
it is derived from the database URL (``sb:`` and a short hash of it, its password left out), so two
deployments with different databases never share a name, while a web server and the worker of one
deployment (same database) always agree. Names are built here only (``Names``), nowhere else.

RQ's and rq-scheduler's keys (``rq:…``) are not prefixed: they live in the Redis database, and a
deployment needs a Redis database number of its own (see README, Production).
"""
from __future__ import annotations

import hashlib
import re

import redis
from flask import Flask, current_app
from sqlalchemy.engine import make_url

PREFIX_SHAPE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # no glob characters: the hub subscribes to a pattern


def default_prefix(database_url: str) -> str:
    """``sb:`` and a short hash of the database URL without its password."""
    try:
        shown = make_url(database_url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unusual URL still gets a prefix of its own
        shown = database_url
    return "sb:" + hashlib.sha256(shown.encode()).hexdigest()[:10]


class Names:
    """Every Redis key and pub/sub channel of one deployment: ``<prefix>:<name>``."""

    def __init__(self, prefix: str):
        if not PREFIX_SHAPE.fullmatch(prefix):
            raise RuntimeError(f"REDIS_PREFIX {prefix!r}: 1 to 64 letters, digits, or _ . : - (no * ? [ ])")
        self.prefix = prefix

    def key(self, *parts) -> str:
        return ":".join((self.prefix, *(str(p) for p in parts)))

    def user_channel(self, user_id: int | str) -> str:
        """The pushes for one user's sockets."""
        return self.key("u", user_id)

    @property
    def user_channels(self) -> str:
        """The pattern of every user's channel (the hub's subscription)."""
        return self.key("u", "*")

    @property
    def control_channel(self) -> str:
        """Commands to every web process's hub (kick, stop)."""
        return self.key("ctl")

    def sockets(self, user_id: int) -> str:
        """The sorted set of a user's open sockets (presence)."""
        return self.key("sockets", user_id)

    def notification_count(self, user_id: int) -> str:
        """A user's cached unread notification count (``services.notifications``)."""
        return self.key("notif", "count", user_id)

    def notification_count_version(self, user_id: int) -> str:
        """Raised on every write of a user's notifications: a count read before it is not cached."""
        return self.key("notif", "ver", user_id)

    def notification_budget(self, user_id: int) -> str:
        """New notifications of a user in the current minute (the rate limit)."""
        return self.key("notif", "budget", user_id)

    def alert_mail(self, user_id: int, object_key: str) -> str:
        """Set while an alert of this kind was mailed to the user (one mail per kind and hour)."""
        return self.key("notif", "alert-mail", user_id, object_key)

    def job_minute(self, queue: str, minute: int) -> str:
        """A queue's jobs ended in one minute, by outcome (``services.job_metrics``)."""
        return self.key("jobs", "minute", queue, minute)

    def job_timings(self, queue: str) -> str:
        """A queue's recent jobs' wait and run times, scored by when they ended."""
        return self.key("jobs", "timings", queue)

    def daily_report(self, day: str) -> str:
        """Set once a day's report was mailed (``jobs.reports``)."""
        return self.key("report", "daily", day)

    @property
    def filter_rules_version(self) -> str:
        """The content filters' version, bumped on every change: each process reloads when it moves."""
        return self.key("filters", "version")

    @property
    def monitoring_report(self) -> str:
        return self.key("monitoring", "last")

    @property
    def everything(self) -> str:
        """The pattern of every key of this deployment (tests and benchmarks clear them)."""
        return self.prefix + ":*"


def init_app(app: Flask) -> None:
    if not app.config.get("REDIS_PREFIX"):
        app.config["REDIS_PREFIX"] = default_prefix(app.config["SQLALCHEMY_DATABASE_URI"])
    app.extensions["redis_names"] = Names(app.config["REDIS_PREFIX"])
    # Flask-Limiter's keys too (read by limiter.init_app, after this)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config["REDIS_PREFIX"])
    url = app.config.get("REDIS_URL")
    if not url:
        raise RuntimeError(
            "REDIS_URL is not set. `make run` starts an embedded Redis and sets it; "
            "in production point it at your Redis (redis://host:6379/0)."
        )
    # A blocking pool: under load, thousands of greenlets wait their turn for one of a bounded
    # set of connections instead of failing (a plain pool raises past its cap).
    pool = redis.BlockingConnectionPool.from_url(
        url, max_connections=app.config["REDIS_MAX_CONNECTIONS"], timeout=10, health_check_interval=30)
    app.extensions["redis"] = redis.Redis(connection_pool=pool)


def get_redis() -> redis.Redis:
    return current_app.extensions["redis"]


def names() -> Names:
    """This deployment's Redis names."""
    return current_app.extensions["redis_names"]


def limits_storage_uri(redis_url: str) -> str:
    """The same Redis for Flask-Limiter, whose storage names a unix socket ``redis+unix://``."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url
