"""Where a pass spends its database time: each statement timed, and the plans of the slow ones."""
from __future__ import annotations

import time


def short_sql(sql: str, limit: int = 240) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= limit else sql[:limit] + " …"


def explain(engine, statement: str, parameters) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of a statement, in a transaction rolled back (UPDATEs change nothing)."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        plan = [row[0] for row in cur.fetchall()]
        raw.rollback()
        return plan
    finally:
        raw.close()


class TimedStatements:
    """Times every SQL statement run on ``engine`` inside ``with``; subclasses say what they keep
    (``record(statement, parameters, seconds)``)."""

    def __init__(self, engine):
        self.engine = engine

    def __enter__(self):
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_t0", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.record(statement, parameters, time.perf_counter() - conn.info["bench_t0"].pop())

    def record(self, statement: str, parameters, seconds: float) -> None:
        raise NotImplementedError
