"""Every test starts from empty tables (``conftest.clean_state``), while the shared worker may
still be running a job of an earlier test. On PostgreSQL that job can lock the same rows in the
other order: the database ends one side with a deadlock error. When it ends the emptying, the
emptying starts again instead of failing the next test (and, from a state machine's set-up,
every test after it)."""
import os
import threading
import time

import pytest
from sqlalchemy import func, select, text

from app.database import write_transaction
from app.extensions import db
from app.models import Notification, User
from tests.support import context
from tests.support.factories import make_user

pytestmark = pytest.mark.skipif(not os.environ["DATABASE_URL"].startswith("postgresql"),
                                reason="SQLite's writers take turns for the whole database")


def test_emptying_the_tables_starts_again_when_the_database_ends_it_for_a_deadlock(ctx, app):
    notified, other = make_user(), make_user()
    with write_transaction():
        notification = Notification(user_id=notified.id, kind="reply", object_key="conversation:1", link="/")
        db.session.add(notification)
    job = db.engine.connect()   # a job: it holds a user row, then wants the notification
    job.execute(text("SET deadlock_timeout = '20s'"))  # so that the database ends the other side
    job.execute(User.__table__.update().where(User.id == other.id).values(display_name="busy"))
    outcome = {}

    def empty():
        with app.app_context():
            try:
                context.empty_tables()
                outcome["done"] = True
            except BaseException as exc:  # noqa: BLE001 - reported below
                outcome["error"] = exc

    emptying = threading.Thread(target=empty)
    emptying.start()
    time.sleep(0.3)  # it deleted the notification and waits for the user row the job holds
    job.execute(Notification.__table__.update().where(Notification.id == notification.id).values(count=2))
    job.commit()   # the database ended the emptying's transaction, not the job's
    job.close()
    emptying.join(30)
    assert outcome == {"done": True}, outcome
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
