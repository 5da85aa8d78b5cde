"""Database engine set-up and the one way services write.

SQLite (the embedded default) is shared by the web process and the worker. Its measured
traps decide this module:

* pysqlite starts transactions late and runs SELECTs outside them, so read-then-write code
  double-claims; every *write* transaction therefore starts with ``BEGIN IMMEDIATE``.
* a write waiting on SQLite's busy handler blocks in C and freezes the whole gevent worker,
  so the busy timeout is 0 and ``BEGIN IMMEDIATE`` is retried with a cooperative sleep
  (``time.sleep`` is gevent's under the gevent worker).

* a commit that takes the write-ahead log past 1,000 pages checkpoints it, in C, syncing the
  file: in the web process checkpoints run on a native thread instead (``wal_checkpoints``).

Reads use a deferred ``BEGIN`` (WAL lets them run beside a writer). PostgreSQL needs none of
this: ``write_transaction`` only commits there.
"""
from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from . import wal_checkpoints
from .extensions import db
from .runtime import under_gevent

_wait_seconds = 15.0
_checkpoints_elsewhere = False  # this process's connections leave checkpoints to a native thread
_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar("sqlite_immediate", default=False)


def is_sqlite(engine: Engine | None = None) -> bool:
    return (engine or db.engine).dialect.name == "sqlite"


def configure_sqlite(app) -> None:
    """Register the pysqlite recipe on the app's engine when it is SQLite (PostgreSQL: its pool
    and prepared statements)."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    # The app's own copy: the settings' dict is shared by every app made from the same class.
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options["connect_args"] = dict(options.get("connect_args") or {})
    if uri.startswith("postgresql"):
        _configure_postgresql(app)
    if not uri.startswith("sqlite"):
        return
    connect_args = options["connect_args"]
    connect_args.setdefault("timeout", 0)
    connect_args.setdefault("check_same_thread", False)
    global _wait_seconds, _checkpoints_elsewhere
    _wait_seconds = app.config.get("SQLITE_WRITE_WAIT_SECONDS", 15.0)
    path = wal_checkpoints.database_file(uri)
    interval = app.config.get("SQLITE_CHECKPOINT_SECONDS", 1.0)
    if path is not None and interval and under_gevent() and "wal_checkpoints" not in app.extensions:
        _checkpoints_elsewhere = True
        app.extensions["wal_checkpoints"] = wal_checkpoints.BackgroundCheckpoints(path, interval).start()
    if not event.contains(Engine, "connect", _on_connect):
        event.listen(Engine, "connect", _on_connect)
        event.listen(Engine, "begin", _on_begin)


def _configure_postgresql(app) -> None:
    """The pool: ``DB_POOL_SIZE`` connections kept open, none beyond (``DB_MAX_OVERFLOW``), a
    bounded wait for one (``DB_POOL_TIMEOUT_SECONDS``, then ``sqlalchemy.exc.TimeoutError``,
    a 503 for a request). A pool smaller than the requests in flight must make them wait, never
    open and close a connection per request: each new connection is a new PostgreSQL backend
    (``bench/faults.py`` and ``bench/push_latency.py --setup services`` count them).

    psycopg prepares a statement server-side once it has run ``PG_PREPARE_THRESHOLD`` times
    (5 by default, psycopg's own; ``none`` turns it off). On: PostgreSQL plans each hot
    statement once per connection instead of at every run (``bench/push_latency.py --setup
    services`` shows the difference in database CPU per message)."""
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    size, overflow = int(app.config.get("DB_POOL_SIZE", 30)), int(app.config.get("DB_MAX_OVERFLOW", 0))
    timeout = int(app.config.get("DB_POOL_TIMEOUT_SECONDS", 10))
    if size < 1 or overflow < 0 or timeout < 1:
        raise RuntimeError(f"DB_POOL_SIZE must be at least 1, DB_MAX_OVERFLOW at least 0 and "
                           f"DB_POOL_TIMEOUT_SECONDS at least 1 (got {size}, {overflow}, {timeout})")
    options.setdefault("pool_size", size)
    options.setdefault("max_overflow", overflow)
    options.setdefault("pool_timeout", timeout)
    options.setdefault("pool_pre_ping", bool(app.config.get("DB_POOL_PRE_PING", False)))
    threshold = str(app.config.get("PG_PREPARE_THRESHOLD", "5")).strip().lower()
    if threshold not in ("", "none", "off") and not threshold.isdigit():
        raise RuntimeError(f"PG_PREPARE_THRESHOLD must be a number of runs or 'none', not {threshold!r}")
    options["connect_args"].setdefault("prepare_threshold",
                                       None if threshold in ("", "none", "off") else int(threshold))


def _on_connect(dbapi_conn, _record):
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_conn.cursor()
        _retry_locked(lambda: cursor.execute("PRAGMA journal_mode=WAL"), _wait_seconds)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if _checkpoints_elsewhere:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()


def _on_begin(conn):
    if conn.dialect.name != "sqlite":
        return
    if _immediate.get():
        _retry_locked(lambda: conn.exec_driver_sql("BEGIN IMMEDIATE"), _wait_seconds)
    else:
        conn.exec_driver_sql("BEGIN")


def _retry_locked(operation, wait_seconds: float):
    """Run ``operation``, retrying cooperatively while SQLite reports a lock."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.001
    while True:
        try:
            return operation()
        except Exception as exc:  # sqlite3.OperationalError or its SQLAlchemy wrapper
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


_after_commit: list = []


def after_commit(hook) -> None:
    """``hook(session)`` runs after every commit of ``write_transaction`` and
    ``single_statement_write``, once the transaction is over (``services.events`` dispatches
    the unit of work's events from there)."""
    if hook not in _after_commit:
        _after_commit.append(hook)


def _committed(session) -> None:
    for hook in _after_commit:
        hook(session)


@contextmanager
def write_transaction() -> Iterator[None]:
    """One write transaction: ``BEGIN IMMEDIATE`` on SQLite, commit on success, rollback on error.

    Any read transaction the session had open is ended first on SQLite, so the statements below
    read fresh rows and hold the write lock from their first statement. PostgreSQL at READ
    COMMITTED reads fresh rows statement by statement: its read transaction (the logged-in user's
    load) just goes on, a COMMIT and a BEGIN round trip fewer per write.
    """
    session = db.session()
    if session.in_transaction() and _ends_reads_first(session):
        _commit_keeping_loaded(session)
    token = _immediate.set(True)
    try:
        yield
        _commit_keeping_loaded(session)
    except BaseException:
        session.rollback()
        raise
    finally:
        _immediate.reset(token)
    _committed(session)


@contextmanager
def single_statement_write() -> Iterator[bool]:
    """PostgreSQL, for a write that is one statement: the statement is its own transaction
    (autocommit), so it costs one round trip, not three (no BEGIN, no COMMIT). One statement is
    atomic by itself and reads as it would inside a READ COMMITTED transaction. Yields False, and
    changes nothing, on SQLite (writes begin with ``BEGIN IMMEDIATE`` there) or when the session is
    already in a transaction; the caller then writes the usual way (``write_transaction``)."""
    session = db.session()
    if session.get_bind().dialect.name != "postgresql" or session.in_transaction():
        yield False
        return
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    try:
        yield True
    except BaseException:
        session.rollback()
        raise
    # Ends the session's use of the connection without a round trip (nothing to commit); the pool
    # puts the connection back in transactions when it returns.
    _commit_keeping_loaded(session)
    _committed(session)


def generic_plans() -> None:
    """PostgreSQL: the prepared statements run in the rest of the current transaction use their
    generic plan, made once per connection, instead of a plan made for their parameters at every
    run (``plan_cache_mode``, ``SET LOCAL``: the transaction's end restores the connection's
    setting). PostgreSQL keeps planning a statement per run when that plan's estimated cost is
    lower than the generic plan's, even where both plans are the same walk of the same indexes and
    the planning costs more than the run: for statements that find their rows by keys. Not for a
    statement whose best plan depends on its parameters (a search, a range of dates): those
    stay out of such a transaction. Begins the transaction if it has not begun: the setting goes
    out with the BEGIN, in its round trip (psycopg's pipeline mode). Nothing on SQLite."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return
    raw = connection.connection.driver_connection
    with _pipeline(raw, _GENERIC_PLANS):
        raw.execute(_GENERIC_PLANS)


_GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan"


def locked_statement_then_commit(statement, params: dict, lock_key: int) -> dict | None:
    """PostgreSQL, the last write of a unit of work that holds an advisory transaction lock
    (``lock_key``, a turn that others wait for) from before ``statement`` reads until the commit:
    the lock, the statement and the COMMIT go out together, in one round trip (psycopg's pipeline
    mode), so the lock is held for the database's own work only, never while this process waits
    for its turn on a busy CPU. The statement still reads after the lock is granted: in a READ
    COMMITTED transaction each statement takes its own snapshot. Its first row comes back as a
    dict (its columns' types applied as a query would), or None.

    The session's changes are flushed first. The transaction is then committed on the database:
    the session's own commit, at the end of the unit of work, has nothing left to send and runs
    the after-commit hooks (the pushes) as usual. Anything the session runs after this is a new
    transaction: it must be the unit's last write."""
    session = db.session()
    if session.get_nested_transaction() is not None:
        raise RuntimeError("a savepoint cannot be committed: run the statement in its transaction")
    session.flush()
    connection = session.connection()
    compiled, bind_processors = _driver_form(statement, connection.dialect)
    values = compiled.construct_params(params)
    values = {name: bind_processors[name](value) if bind_processors.get(name) else value
              for name, value in values.items()}
    raw = connection.connection.driver_connection
    with _pipeline(raw, compiled.string, values):
        raw.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key])
        cursor = raw.execute(compiled.string, values)
        raw.commit()
        row = cursor.fetchone()
    if row is None:
        return None
    dialect = connection.dialect
    processors = [column.type.dialect_impl(dialect).result_processor(dialect, described.type_code)
                  for column, described in zip(statement.exported_columns, cursor.description)]
    return {described.name: processor(value) if processor else value
            for described, processor, value in zip(cursor.description, processors, row)}


@contextmanager
def _pipeline(raw, statement: str, params: dict | None = None):
    """psycopg's pipeline mode on the session's own driver connection; the driver's errors raised
    as SQLAlchemy raises them (``unavailable`` reads them), naming ``statement``."""
    try:
        with raw.pipeline():
            yield
    except raw.Error as exc:
        raise sa_exc.DBAPIError.instance(statement, params, exc, raw.Error) from exc


_DRIVER_FORMS: dict = {}  # statement (compared by identity) -> (compiled, parameters' processors)


def _driver_form(statement, dialect):
    """``statement`` compiled for the driver, with its parameters' processors (once per statement:
    the ones given here come from ``cached_statement`` and live as long as the process)."""
    form = _DRIVER_FORMS.get(statement)
    if form is None:
        compiled = statement.compile(dialect=dialect)
        processors = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                      for name, bind in compiled.binds.items()}
        form = _DRIVER_FORMS[statement] = (compiled, processors)
    return form


def _ends_reads_first(session) -> bool:
    dialect = session.get_bind().dialect
    return dialect.name != "postgresql" or dialect.default_isolation_level != "READ COMMITTED"


def _commit_keeping_loaded(session) -> None:
    """Commit without expiring loaded objects: the logged-in user loaded before the write, and
    the rows just written that the pushes render after it, need no reload round trips.
    Guarded writes never trust loaded attributes: they re-check in SQL."""
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def loaded(model, values):
    """The ORM object of a row a statement returned as plain columns (``values``: attribute name,
    value pairs, the primary key among them), as a query would have loaded it: in the session,
    those attributes loaded, the others loaded when first read. The object already in the
    session, refreshed, when there is one."""
    values = dict(values)
    mapper = model.__mapper__
    key = mapper.identity_key_from_primary_key([values[mapper.get_property_by_column(column).key]
                                                for column in mapper.primary_key])
    session = db.session()
    instance = session.identity_map.get(key)
    if instance is None:
        instance = mapper.class_manager.new_instance()
        for name, value in values.items():
            set_committed_value(instance, name, value)
        make_transient_to_detached(instance)
        session.add(instance)
    else:
        for name, value in values.items():
            set_committed_value(instance, name, value)
    return instance


def dialect_insert(model):
    """``INSERT`` with the current database's ``ON CONFLICT`` support (PostgreSQL or SQLite)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


_PREPARED: dict[tuple, object] = {}


def cached_statement(key: tuple, build):
    """A hot-path statement built once (per database dialect) and run with bound parameters:
    building a statement and computing its cache key cost more than SQLAlchemy's
    compiled-statement cache saves."""
    key = (db.session.get_bind().dialect.name, *key)
    statement = _PREPARED.get(key)
    if statement is None:
        statement = _PREPARED[key] = build()
    return statement


def unavailable(exc: BaseException) -> str | None:
    """Why a failed database call is the database being out of reach for now, not a bug:
    ``"busy"`` when no pooled connection freed up in time, ``"down"`` when the connection failed
    or was lost (PostgreSQL restarting; the pool replaces its connections). None otherwise.
    Either way the caller may simply try again a little later."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.TimeoutError):
        return "busy"
    if not isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return None
    if exc.connection_invalidated:
        return "down"
    sqlstate = getattr(exc.orig, "sqlstate", "")
    if type(exc.orig).__module__.startswith("psycopg") and (
            sqlstate is None or sqlstate.startswith(("08", "57P"))):  # no server answer, connection or shutdown
        return "down"
    return None
