"""The SQL a block of code runs."""
from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def recorded_statements(engine, this_thread_only: bool = False):
    """The SQL run on ``engine`` inside the block (a list, filled as it runs); only this thread's
    with ``this_thread_only`` (the hub's thread may run queries meanwhile: queue panels)."""
    import threading

    from sqlalchemy import event

    seen: list[str] = []
    me = threading.get_ident()

    def record(_conn, _cursor, statement, *_rest):
        if not this_thread_only or threading.get_ident() == me:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
