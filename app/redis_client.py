"""The process's Redis connection pool (one per app)."""
from __future__ import annotations

import redis
from flask import Flask, current_app


def init_app(app: Flask) -> None:
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


def limits_storage_uri(redis_url: str) -> str:
    """The same Redis for Flask-Limiter, whose storage names a unix socket ``redis+unix://``."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url
