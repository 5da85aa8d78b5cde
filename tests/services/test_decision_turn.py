"""PostgreSQL: decisions take turns, and the usual ones (a client nobody approaches, a profile nobody
holds or that stays with its holder) hold the turn over one statement and the commit; when the
situation changed between its first read and the turn, the whole decision is made under the turn,
as before."""
import os
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, select, text

from app.database import write_transaction
from app.extensions import db
from app.models import AssignmentChange, ClientLock, Conversation, Message, ProfileAssignment, QueueEntry, User
from app.services import activity, sending
from tests.support.factories import make_profile, make_user, queued_moderator, token
from tests.support.sql import recorded_statements

pytestmark = pytest.mark.skipif(not os.environ["DATABASE_URL"].startswith("postgresql"),
                                reason="PostgreSQL decisions take turns by an advisory lock")

T0 = datetime(2026, 12, 5, 12, 0, 0)


def post(client, profile, now):
    with write_transaction():
        return sending.post_client_message(client, profile.id, "hi", token(), now).message.conversation.id


def test_a_first_decision_holds_the_turn_over_one_statement(ctx):
    busy, idle = queued_moderator(T0), queued_moderator(T0 + timedelta(seconds=1))
    with write_transaction():
        db.session.execute(QueueEntry.__table__.update().where(QueueEntry.moderator_id == busy.id).values(load=3))
    client, profile = make_user(), make_profile()
    with recorded_statements(db.engine) as statements, _commits_marked(db.engine, statements):
        conversation_id = post(client, profile, T0 + timedelta(seconds=2))
    turn = next(i for i, statement in enumerate(statements) if "pg_advisory_xact_lock" in statement)
    held = statements[turn + 1:statements.index(COMMIT, turn)]
    assert len(held) == 1, held
    assert "INSERT INTO profile_assignments" in held[0] and "INSERT INTO client_locks" in held[0]
    # the message's pushes render the holder and the profile's lock the statement returned: after
    # the commit only the queue panels read (the queue, not one row of a user, profile or lock)
    after = statements[statements.index(COMMIT, turn) + 1:]
    assert not [s for s in after if "profile_locks" in s or "%(pk_1)s" in s], after
    # what it did: the least loaded got the conversation, the profile, the client's lock, a history
    # line and one more in their load
    conversation = db.session.get(Conversation, conversation_id)
    assert conversation.assigned_moderator_id == idle.id
    assert db.session.get(ProfileAssignment, profile.id).moderator_id == idle.id
    lock = db.session.scalar(select(ClientLock).where(ClientLock.client_id == client.id))
    assert lock.moderator_id == idle.id and lock.profile_id == profile.id and lock.lock_reason == "approach"
    assert lock.expires_at > T0 + timedelta(seconds=2)
    change = db.session.scalar(select(AssignmentChange).where(AssignmentChange.conversation_id == conversation_id))
    assert (change.from_moderator_id, change.to_moderator_id) == (None, idle.id)
    assert db.session.scalar(select(QueueEntry.load).where(QueueEntry.moderator_id == idle.id)) == 1


def test_a_client_approached_while_the_decision_waited_for_its_turn_goes_to_who_approaches_them(ctx, app):
    """The first read saw a client nobody approached; before the decision had its turn, another
    decision gave the client to a moderator. The short path's guard sees the lock and the decision
    is made again under the turn: the conversation goes to who approaches the client."""
    first, second = queued_moderator(T0), queued_moderator(T0 + timedelta(seconds=1))   # first is next in line
    client, profile = make_user(), make_profile()
    now = T0 + timedelta(seconds=2)
    conversation_id = _decided_while_the_turn_is_held(app, client, profile, now, lambda turn: turn.execute(
        ClientLock.__table__.insert().values(
            client_id=client.id, profile_id=make_profile(name="Other").id, moderator_id=second.id, token="t" * 32,
            locked_at=now, expires_at=now + timedelta(seconds=30), lock_reason="approach")))
    conversation = db.session.get(Conversation, conversation_id)
    assert conversation.assigned_moderator_id == second.id != first.id   # not the next in line
    assert db.session.get(ProfileAssignment, profile.id).moderator_id == second.id


def _kept_profile():
    """A profile its holder answers (a client's conversation with it waits for their reply), the
    holder's load above another online moderator's: the holder, the idle moderator, the profile
    and the first conversation."""
    holder, idle = queued_moderator(T0), queued_moderator(T0 + timedelta(seconds=1))
    profile = make_profile()
    first = post(make_user(), profile, T0 + timedelta(seconds=2))
    assert db.session.get(Conversation, first).assigned_moderator_id == holder.id
    return holder, idle, profile, first


def test_a_profile_its_holder_keeps_holds_the_turn_over_one_statement(ctx):
    """The holder is available and answers another conversation of the profile: a new client's
    conversation with it goes to them, not to the least loaded, by one statement under the turn."""
    holder, idle, profile, first = _kept_profile()
    client = make_user()
    with recorded_statements(db.engine) as statements, _commits_marked(db.engine, statements):
        conversation_id = post(client, profile, T0 + timedelta(seconds=3))
    turn = next(i for i, statement in enumerate(statements) if "pg_advisory_xact_lock" in statement)
    held = statements[turn + 1:statements.index(COMMIT, turn)]
    assert len(held) == 1, held
    assert "INSERT INTO client_locks" in held[0] and "INSERT INTO profile_assignments" not in held[0]
    conversation = db.session.get(Conversation, conversation_id)
    assert conversation.assigned_moderator_id == holder.id
    assert db.session.get(ProfileAssignment, profile.id).moderator_id == holder.id
    lock = db.session.scalar(select(ClientLock).where(ClientLock.client_id == client.id))
    assert lock.moderator_id == holder.id and lock.profile_id == profile.id and lock.lock_reason == "approach"
    change = db.session.scalar(select(AssignmentChange).where(AssignmentChange.conversation_id == conversation_id))
    assert (change.from_moderator_id, change.to_moderator_id) == (None, holder.id)
    loads = dict(db.session.execute(select(QueueEntry.moderator_id, QueueEntry.load)).all())
    assert loads == {holder.id: 2, idle.id: 0}


def test_a_client_the_holder_already_approaches_goes_to_them_by_one_statement_and_keeps_the_approach(ctx):
    """The client wrote to one of the holder's profiles seconds ago (the holder approaches them) and
    now writes to another profile the holder keeps: one statement under the turn, the conversation
    to the holder, and their approach goes on as it was (same lock, same owner token, same expiry)."""
    holder, idle, profile, first = _kept_profile()
    client = db.session.get(Conversation, first).client
    lock = db.session.scalar(select(ClientLock).where(ClientLock.client_id == client.id))
    before = (lock.moderator_id, lock.profile_id, lock.token, lock.expires_at)
    assert before[0] == holder.id
    with write_transaction():   # the other moderator is busier: the holder is next in line
        db.session.execute(QueueEntry.__table__.update().where(QueueEntry.moderator_id == idle.id).values(load=5))
    second = make_profile(name="Second")
    post(make_user(), second, T0 + timedelta(seconds=3))   # the holder takes the second profile
    assert db.session.get(ProfileAssignment, second.id).moderator_id == holder.id
    with recorded_statements(db.engine) as statements, _commits_marked(db.engine, statements):
        conversation_id = post(client, second, T0 + timedelta(seconds=4))
    turn = next(i for i, statement in enumerate(statements) if "pg_advisory_xact_lock" in statement)
    held = statements[turn + 1:statements.index(COMMIT, turn)]
    assert len(held) == 1 and "INSERT INTO client_locks" in held[0], held
    db.session.expire_all()
    assert db.session.get(Conversation, conversation_id).assigned_moderator_id == holder.id
    lock = db.session.scalar(select(ClientLock).where(ClientLock.client_id == client.id))
    assert (lock.moderator_id, lock.profile_id, lock.token, lock.expires_at) == before
    assert db.session.scalar(select(QueueEntry.load).where(QueueEntry.moderator_id == holder.id)) == 3


def _holder_goes_offline(connection, holder, idle, profile, first):
    connection.execute(User.__table__.update().where(User.id == holder.id).values(is_online=False))


def _profile_moved_to_the_other(connection, holder, idle, profile, first):
    connection.execute(ProfileAssignment.__table__.update().where(ProfileAssignment.profile_id == profile.id)
                       .values(moderator_id=idle.id))   # its conversation follows (ON UPDATE CASCADE)


def _answered_long_ago(connection, holder, idle, profile, first):
    connection.execute(Conversation.__table__.update().where(Conversation.id == first)
                       .values(awaiting_reply_since=None, last_message_at=T0 - timedelta(days=1)))


@pytest.mark.parametrize("meanwhile", [_holder_goes_offline, _profile_moved_to_the_other, _answered_long_ago])
def test_a_holder_who_stopped_keeping_the_profile_while_the_decision_waited_does_not_get_it(ctx, app, meanwhile):
    """The first read saw the holder keeping the profile; before the decision had its turn, the
    holder went offline, or its other conversation went quiet (the profile goes by load), or the
    profile moved (its new holder keeps it). The short path reads after the turn: the conversation
    goes to the other moderator."""
    holder, idle, profile, first = _kept_profile()
    client = make_user()
    now = T0 + timedelta(minutes=2)   # the first client's approach (30 s) is over
    conversation_id = _decided_while_the_turn_is_held(app, client, profile, now,
                                                      lambda turn: meanwhile(turn, holder, idle, profile, first))
    db.session.expire_all()
    assert db.session.get(Conversation, conversation_id).assigned_moderator_id == idle.id
    assert db.session.get(ProfileAssignment, profile.id).moderator_id == idle.id
    assert db.session.scalar(select(ClientLock.moderator_id).where(ClientLock.client_id == client.id)) == idle.id


def test_a_client_someone_else_approached_while_the_decision_waited_waits_for_that_approach(ctx, app):
    """The first read saw the holder keeping the profile and nobody approaching the client; before
    the decision had its turn, the other moderator approached the client. The holder does not get
    the conversation while that approach runs: it waits (as the whole decision has it), and the
    other moderator's lock is left as it was."""
    holder, idle, profile, _ = _kept_profile()
    client = make_user()
    now = T0 + timedelta(seconds=3)
    other_lock = {"client_id": client.id, "profile_id": make_profile(name="Other").id, "moderator_id": idle.id,
                  "token": "t" * 32, "locked_at": now, "expires_at": now + timedelta(seconds=30),
                  "lock_reason": "approach"}
    conversation_id = _decided_while_the_turn_is_held(
        app, client, profile, now, lambda turn: turn.execute(ClientLock.__table__.insert().values(**other_lock)))
    db.session.expire_all()
    assert db.session.get(Conversation, conversation_id).assigned_moderator_id is None
    lock = db.session.scalar(select(ClientLock).where(ClientLock.client_id == client.id))
    assert (lock.moderator_id, lock.token, lock.expires_at) == (idle.id, "t" * 32, now + timedelta(seconds=30))


def test_an_account_disabled_lets_its_profiles_go_in_the_decisions_turn(ctx, app):
    """Disabling a moderator deletes their hold on their profiles; a decision that read them as
    the holder after its turn claims for them in the same statement, so the release waits for the
    turn (else a release committed under that statement fails the claim's foreign key and the
    client's message with it). Then it frees the profile and the conversation, as before."""
    from app.services import users

    holder, idle, profile, first = _kept_profile()

    def disable():
        with write_transaction():
            users.set_active(holder.id, False, T0 + timedelta(seconds=3))

    _run_while_the_turn_is_held(app, disable, meanwhile=lambda turn: None)
    db.session.expire_all()
    assert db.session.get(ProfileAssignment, profile.id) is None
    assert db.session.get(Conversation, first).assigned_moderator_id is None


def _decided_while_the_turn_is_held(app, client, profile, now, meanwhile) -> int:
    """The client's message to the profile posted while the decisions' turn is held (see
    ``_run_while_the_turn_is_held``): the id of the conversation it opened."""
    return _run_while_the_turn_is_held(app, lambda: post(client, profile, now), meanwhile)


def _run_while_the_turn_is_held(app, act, meanwhile):
    """``act()`` run in another thread (in an app context) while this test holds the decisions'
    turn; once it waits for the turn, ``meanwhile(connection)`` runs in the turn's transaction,
    which then commits. What ``act`` returned (it must have waited and raised nothing)."""
    turn = db.engine.connect()
    turn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": activity.ASSIGNMENT_LOCK_KEY})
    outcome = {}

    def run():
        with app.app_context():
            try:
                outcome["value"] = act()
            except BaseException as exc:  # noqa: BLE001 - reported below
                outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    waited = _waits_for_the_turn(turn)
    meanwhile(turn)
    turn.commit()
    turn.close()
    worker.join(30)
    assert waited and "error" not in outcome and "value" in outcome, outcome
    return outcome["value"]


COMMIT = "-- COMMIT"


@contextmanager
def _commits_marked(engine, statements):
    """Marks each commit in ``statements`` (psycopg commits without a cursor statement)."""
    def mark(_conn):
        statements.append(COMMIT)

    event.listen(engine, "commit", mark)
    try:
        yield
    finally:
        event.remove(engine, "commit", mark)


def _waits_for_the_turn(connection, seconds=10.0) -> bool:
    """True once another backend waits for the decisions' advisory lock."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        waiting = connection.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar()
        if waiting:
            return True
        time.sleep(0.02)
    return False


def _waits_for_a_row(connection, seconds=10.0) -> bool:
    """True once another backend waits for a transaction (an insert that conflicts with one not
    yet committed waits for it to end)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if connection.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' "
                                   "AND NOT granted")).scalar():
            return True
        time.sleep(0.02)
    return False


def test_a_first_message_racing_the_opening_of_its_conversation_goes_into_that_conversation(ctx, app):
    """The one-statement first message found no conversation, but another transaction was opening
    it: its insert waits for that one, finds the conversation there and stores nothing; the checked
    path then puts the message in that conversation, and the decision gives it to a moderator."""
    moderator = queued_moderator(T0)
    client, profile = make_user(), make_profile()
    now = T0 + timedelta(seconds=2)
    holder = db.engine.connect()
    holder.execute(Conversation.__table__.insert().values(client_id=client.id, profile_id=profile.id, created_at=now,
                                                          pending_count=0, client_unread_count=0))
    outcome = {}

    def send():
        with app.app_context():
            try:
                outcome["posted"] = sending.send_client_message(client.id, profile.id, "are you there?", token(), now)
            except BaseException as exc:  # noqa: BLE001 - reported below
                outcome["error"] = exc

    worker = threading.Thread(target=send)
    worker.start()
    waited = _waits_for_a_row(holder)
    holder.commit()
    holder.close()
    worker.join(20)
    assert waited and not worker.is_alive() and "error" not in outcome, outcome
    [conversation] = db.session.scalars(select(Conversation).where(Conversation.client_id == client.id)).all()
    db.session.refresh(conversation)
    assert db.session.scalars(select(Message.body).where(Message.conversation_id == conversation.id)).all() == [
        "are you there?"]
    assert conversation.assigned_moderator_id == moderator.id and conversation.pending_count == 1
