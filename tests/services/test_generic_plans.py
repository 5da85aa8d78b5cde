"""``database.generic_plans`` (PostgreSQL): the statements of a client's first message find their
rows by keys, so PostgreSQL plans them once per connection (a generic plan) instead of once per
message for its parameters, and the setting ends with the transaction."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from app.clock import utcnow
from app.database import generic_plans, write_transaction
from app.extensions import db
from app.services import sending
from tests.support.factories import make_profile, make_user, queued_moderator, token

pytestmark = pytest.mark.skipif(not os.environ["DATABASE_URL"].startswith("postgresql"),
                                reason="PostgreSQL's plan cache")

# The first message's statements once the driver prepares them: the conversation opened with the
# message (which reads what the decision needs to know first), the decision.
FIRST_MESSAGE_STATEMENTS = ("WITH n AS (INSERT INTO conversations", "WITH pick AS")


def _plans(connection) -> dict[str, tuple[int, int]]:
    """(generic, custom) plans of this connection's prepared statements, by the start of their text."""
    found: dict[str, tuple[int, int]] = {}
    for statement, generic, custom in connection.execute(text(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")):
        for start in FIRST_MESSAGE_STATEMENTS:
            if " ".join(statement.split()).startswith(start):
                found[start] = (generic, custom)
    return found


def test_a_first_messages_statements_are_planned_once_per_connection(ctx):
    queued_moderator(utcnow())
    queued_moderator(utcnow())
    senders = [(make_user().id, make_profile(name=f"P{n}").id) for n in range(12)]
    db.session.remove()
    db.engine.dispose()  # one connection from here on: every message below runs on it
    for client_id, profile_id in senders:
        sending.send_client_message(client_id, profile_id, "hello", token(), utcnow())
    plans = _plans(db.session.connection())
    db.session.rollback()
    assert set(plans) == set(FIRST_MESSAGE_STATEMENTS)  # all prepared by the driver
    for start, (generic, custom) in plans.items():
        assert generic > 0 and custom == 0, f"{start}: {generic} generic, {custom} custom plans"


def test_the_setting_lasts_as_long_as_the_transaction(ctx):
    with write_transaction():
        generic_plans()
        inside = db.session.execute(text("SHOW plan_cache_mode")).scalar()
    after = db.session.execute(text("SHOW plan_cache_mode")).scalar()
    db.session.rollback()
    assert (inside, after) == ("force_generic_plan", "auto")

