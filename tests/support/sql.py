"""The SQL a block of code runs."""
from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def recorded_statements(engine):
    """The SQL run on ``engine`` inside the block (a list, filled as it runs)."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn, _cursor, statement, *_rest):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
