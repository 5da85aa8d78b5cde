"""``database.locked_statement_then_commit`` (PostgreSQL): an advisory lock, one statement and the
commit sent together. The statement reads what the lock's previous holder committed (it runs
after the lock is granted, with a snapshot of its own), its row comes back typed as a query's
would, and the transaction is committed on the database when it returns, the lock with it."""
from __future__ import annotations

import os
import threading

import psycopg
import pytest
from sqlalchemy import bindparam, literal, select, text, update
from sqlalchemy import exc as sa_exc

from app.database import locked_statement_then_commit, unavailable, write_transaction
from app.extensions import db
from app.models import Role, User
from tests.support.context import app_context
from tests.support.factories import make_user

pytestmark = pytest.mark.skipif(not os.environ["DATABASE_URL"].startswith("postgresql"),
                                reason="PostgreSQL's advisory locks and pipeline mode")

KEY = 0x7E57


def _other_connection():
    return psycopg.connect(os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://"))


def _renamed_statement():
    users = User.__table__
    return (update(users).where(users.c.id == bindparam("uid")).values(display_name=bindparam("name"))
            .returning(users.c.display_name, users.c.role, users.c.created_at))


def test_the_row_comes_back_typed_and_the_transaction_is_committed_with_the_lock():
    user = make_user(Role.MODERATOR, display_name="Before")
    with app_context():
        with write_transaction():
            row = locked_statement_then_commit(_renamed_statement(), {"uid": user.id, "name": "After"}, KEY)
            expected = db.session.execute(select(User.display_name, User.role, User.created_at)
                                          .where(User.id == user.id)).one()._mapping
            assert row == dict(expected) and row["role"] is Role.MODERATOR
            with _other_connection() as other:   # before the session's own commit
                assert other.execute("SELECT display_name FROM users WHERE id = %s", [user.id]).fetchone() == ("After",)
                assert other.execute("SELECT pg_try_advisory_xact_lock(%s)", [KEY]).fetchone() == (True,)
        assert locked_statement_then_commit(_renamed_statement(), {"uid": 0, "name": "nobody"}, KEY) is None


def test_the_statement_waits_for_the_lock_and_reads_what_its_holder_committed():
    user = make_user(display_name="Before")
    with _other_connection() as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [KEY])
        holder.execute("UPDATE users SET display_name = 'By the holder' WHERE id = %s", [user.id])
        seen = {}

        def decide():
            with app_context():
                statement = select(User.display_name).where(User.id == bindparam("uid"))
                with write_transaction():
                    seen["row"] = locked_statement_then_commit(statement, {"uid": user.id}, KEY)

        waiting = threading.Thread(target=decide)
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive() and "row" not in seen   # the lock is held: it waits
        holder.commit()                                   # the holder's change and its lock's release
        waiting.join(10)
    assert seen["row"] == {"display_name": "By the holder"}


def test_a_failing_statement_raises_as_sqlalchemy_would_and_nothing_is_committed():
    user = make_user(display_name="Before")
    with app_context():
        with pytest.raises(sa_exc.DataError):
            with write_transaction():
                db.session.execute(update(User).where(User.id == user.id).values(display_name="Half-written"))
                locked_statement_then_commit(select((literal(1) / bindparam("zero")).label("x")), {"zero": 0}, KEY)
        assert db.session.scalar(select(User.display_name).where(User.id == user.id)) == "Before"


def test_a_lost_connection_reads_as_the_database_being_down_and_the_pool_drops_it():
    """PostgreSQL restarting: the error the pages answer 503 to, and the next use gets a new connection."""
    with app_context():
        with pytest.raises(sa_exc.OperationalError) as raised:
            with write_transaction():
                pid = db.session.scalar(text("SELECT pg_backend_pid()"))
                with _other_connection() as other:
                    other.execute("SELECT pg_terminate_backend(%s)", [pid])
                locked_statement_then_commit(select(literal(1).label("x")), {}, KEY)
        assert unavailable(raised.value) == "down"
        assert db.session.scalar(text("SELECT pg_backend_pid()")) != pid
