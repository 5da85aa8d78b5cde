"""PostgreSQL: a process keeps ``PG_POOL_SIZE`` connections across bursts. A connection returned
beyond the pool is closed, and the next burst opens it again: a new backend, with its catalog
caches and prepared statements to build again."""
import pytest
from sqlalchemy import event

from app.extensions import db


def test_a_second_burst_as_large_as_the_pool_opens_no_connection(app):
    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite opens no server backend")
        size = app.config["PG_POOL_SIZE"]
        assert size > 5  # more than SQLAlchemy's default, which a busy web process outgrows
        opened = []

        def counted(*_):
            opened.append(1)

        event.listen(engine, "connect", counted)
        try:
            for burst in (1, 2):
                connections = [engine.connect() for _ in range(size)]
                for connection in connections:
                    connection.exec_driver_sql("SELECT 1")
                for connection in connections:
                    connection.close()
                if burst == 1:
                    first = len(opened)
            assert len(opened) == first  # the second burst found them all kept
        finally:
            event.remove(engine, "connect", counted)
