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
    app.extensions["redis"] = redis.Redis.from_url(url, health_check_interval=30)


def get_redis() -> redis.Redis:
    return current_app.extensions["redis"]


def limits_storage_uri(redis_url: str) -> str:
    """The same Redis for Flask-Limiter, whose storage names a unix socket ``redis+unix://``."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url
