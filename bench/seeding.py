"""Bulk rows a benchmark starts from: users (one password hash computed once) and profiles; the
numbers an INSERT ... SELECT seeds from, and the guard of the benches that replace their data."""
from __future__ import annotations

from datetime import datetime, timezone

from run_setup import Setup

PASSWORD = "bench-password-1"


def create_users(setup: Setup, role: str, count: int, prefix: str) -> list[int]:
    """Bulk-insert ``count`` users of ``role``; returns their ids in order."""
    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from app.database import write_transaction
    from app.extensions import db
    from app.models import Role, User

    if count <= 0:
        return []
    password_hash = generate_password_hash(PASSWORD, "pbkdf2:sha256:1000")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    emails = [f"{prefix}-{i:05d}@example.test" for i in range(count)]
    rows = [{"email": e, "role": Role(role), "display_name": e.split("@")[0], "password_hash": password_hash,
             "active": True, "locale": "fr", "is_online": False, "created_at": now} for e in emails]
    with setup.app.app_context():
        with write_transaction():
            for start in range(0, count, 1000):
                db.session.execute(insert(User), rows[start:start + 1000])
        ids = dict(db.session.execute(select(User.email, User.id).where(User.email.like(f"{prefix}-%"))).all())
        db.session.remove()
    return [ids[e] for e in emails]


def create_profiles(setup: Setup, count: int) -> list[int]:
    """Bulk-insert ``count`` active profiles; returns their ids in order."""
    from sqlalchemy import insert, select

    from app.database import write_transaction
    from app.extensions import db
    from app.models import Profile

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    names = [f"Bench{i:04d}" for i in range(count)]
    with setup.app.app_context():
        with write_transaction():
            db.session.execute(insert(Profile), [
                {"name": n, "age": 30, "city": "Paris", "bio": "Bench profile", "active": True, "created_at": now}
                for n in names])
        ids = dict(db.session.execute(select(Profile.name, Profile.id).where(Profile.name.like("Bench%"))).all())
        db.session.remove()
    return [ids[n] for n in names]


def numbers_sql(dialect: str) -> str:
    """A row per number from :lo to :hi, as ``s(g)``: what the bulk seeds insert from."""
    if dialect == "postgresql":
        return "SELECT g FROM generate_series(CAST(:lo AS int), CAST(:hi AS int)) AS g"
    return "WITH RECURSIVE n(g) AS (SELECT :lo UNION ALL SELECT g + 1 FROM n WHERE g < :hi) SELECT g FROM n"


def replaceable_database(parser) -> str:
    """DATABASE_URL, for a bench that replaces its data; a parser error when it is unset or
    names the suite's database, ``test``."""
    import os
    from pathlib import Path

    from sqlalchemy.engine import make_url

    url = os.environ.get("DATABASE_URL", "")
    if not url:
        parser.error("needs DATABASE_URL (its data is replaced) and REDIS_URL")
    name = make_url(url).database or ""
    if name == "test" or Path(name).stem == "test":
        parser.error("refuses the database named test: its data would be replaced")
    return url


def insert_in_batches(statement, values: dict, count: int, batch: int, what: str = "messages") -> None:
    """Run an ``INSERT ... SELECT`` over :lo..:hi in batches of ``batch`` up to ``count`` (one
    transaction each, with progress), then analyse the tables (in the caller's app context)."""
    from sqlalchemy import text

    from app.database import write_transaction
    from app.extensions import db

    for lo in range(1, count + 1, batch):
        hi = min(count, lo + batch - 1)
        with write_transaction():
            db.session.execute(statement, values | {"lo": lo, "hi": hi})
        print(f"  {hi:,} {what}", flush=True)
    db.session.remove()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
        raw.execute(text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"))
