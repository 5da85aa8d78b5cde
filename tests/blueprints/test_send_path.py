"""A client's message in a conversation they already have: on PostgreSQL one statement checks the
sender, stores the message and returns what the pushes render (no user loaded first). Everything
it does not store goes the checked way, with the same answers as a first message."""
import os
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from app.database import write_transaction
from app.extensions import db
from app.models import Conversation, Message, Profile, ProfileAssignment, QueueEntry, Role, User
from app.clock import utcnow
from tests.support.context import app_context
from tests.support.factories import count, make_profile, make_user, token
from tests.support.http import login, send
from tests.support.sql import recorded_statements

ON_POSTGRESQL = os.environ["DATABASE_URL"].startswith("postgresql")


def assert_parsed_once(statement: str) -> None:
    """psycopg parses a statement's placeholders once and keeps the result, up to 4,096 bytes;
    a longer one is parsed again at every run (``bench/instructions.py`` shows the cost)."""
    from psycopg import _queries

    assert len(statement.encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH, len(statement.encode())


def _client_in_a_conversation(app, client, moderator_locale="en"):
    make_user(Role.MODERATOR, online=True, locale=moderator_locale)
    user, profile = make_user(locale="de"), make_profile()
    csrf = login(client, user.email)
    assert send(client, csrf, profile.id, "first").status_code == 200
    return user, profile, csrf


def test_the_usual_message_loads_no_user_and_its_pushes_run_no_query(app, client):
    """PostgreSQL: one statement (the sender checked, with no running sanction). SQLite: under
    BEGIN IMMEDIATE, the checked conversation (and no running sanction), the message, its pending
    row and the counters."""
    _, profile, csrf = _client_in_a_conversation(app, client)
    with app_context():
        engine = db.engine
    with recorded_statements(engine, this_thread_only=True) as statements:
        response = send(client, csrf, profile.id, "second")
    assert response.status_code == 200 and "second" in response.get_data(as_text=True)
    if ON_POSTGRESQL:
        assert len(statements) == 1, statements
        assert "s.session_version <=" in statements[0] and "FROM sanctions AS x" in statements[0]
        assert "INSERT INTO messages" in statements[0]
        assert_parsed_once(statements[0])
    else:
        kinds = [" ".join(statement.split()[:3]) for statement in statements]
        while kinds[1:2] == ["BEGIN IMMEDIATE"]:  # tried again while another writer held the database
            del kinds[1], statements[1]
        assert kinds == ["BEGIN IMMEDIATE", "SELECT conversations.id AS", "INSERT INTO messages",
                         "INSERT INTO pending_client_messages", "UPDATE conversations SET"], kinds
        assert "sender.role" in statements[1]
    assert count(Message) == 2


def _first_message(client, opens: bool):
    """A new client's first message to a free profile, one moderator online: the moderator, the
    profile, the client's CSRF token and the statements SQLAlchemy sent for it (the driver sends
    the decision with its turn and commit)."""
    moderator = make_user(Role.MODERATOR, online=True)
    user, profile = make_user(), make_profile()
    csrf = login(client, user.email)
    with app_context():
        engine = db.engine
    with recorded_statements(engine, this_thread_only=True) as statements:
        response = send(client, csrf, profile.id, "hello there", opens=opens)
    assert response.status_code == 200 and "hello there" in response.get_data(as_text=True)
    return moderator, profile, csrf, statements


@pytest.mark.skipif(not ON_POSTGRESQL, reason="the first message's one statement is PostgreSQL's")
def test_a_first_message_opens_its_conversation_in_one_statement_then_the_decision_follows(app, client):
    """The conversation (waiting, counted), the message and its pending row in one statement, the
    sender checked inside it and what the decision needs to know read with it; then the decision
    (its turn, its statement). No user, profile or conversation is loaded first, and the pushes
    read nothing after."""
    moderator, profile, csrf, statements = _first_message(client, opens=False)
    [opening] = [statement for statement in statements if "INSERT INTO conversations" in statement]
    assert "INSERT INTO messages" in opening and "INSERT INTO pending_client_messages" in opening
    assert "s.session_version <=" in opening and "FROM sanctions AS x" in opening
    assert_parsed_once(opening)
    assert not [statement for statement in statements if statement.lstrip().startswith(("SELECT users.", "SELECT profiles."))]
    assert len(statements) == 3, statements  # two tries in a conversation they have, the opening
    with app_context():
        conversation = Conversation.query.one()
        assert conversation.assigned_moderator_id == moderator.id and conversation.pending_count == 1
        assert conversation.awaiting_reply_since is not None and conversation.last_client_message_at is not None
        [message] = Message.query.all()
        assert message.conversation_id == conversation.id and message.body == "hello there"
        assert db.session.scalar(select(QueueEntry.load).where(QueueEntry.moderator_id == moderator.id)) == 1
    second = send(client, csrf, profile.id, "and again")   # now the usual one statement
    assert second.status_code == 200 and count(Message) == 2


def test_a_first_message_of_a_client_who_may_not_write_stores_nothing(app, client):
    """Refused as before: the checked path answers, nothing was half-written (no conversation
    without its message)."""
    make_user(Role.MODERATOR, online=True)
    user, profile = make_user(), make_profile()
    csrf = login(client, user.email)
    with app_context():
        with write_transaction():
            db.session.execute(update(Profile).where(Profile.id == profile.id).values(active=False))
    assert send(client, csrf, profile.id, "hidden?").status_code == 404
    with app_context():
        with write_transaction():
            db.session.execute(update(Profile).where(Profile.id == profile.id).values(active=True))
            db.session.execute(update(User).where(User.id == user.id).values(role=Role.MODERATOR))
    assert send(client, csrf, profile.id, "a client?").status_code == 403
    assert count(Message) == 0 and count(Conversation) == 0


def test_in_an_existing_conversation_what_is_not_stored_gets_the_same_answers(app, client):
    user, profile, csrf = _client_in_a_conversation(app, client)
    assert send(client, csrf, profile.id, "").status_code == 422
    assert send(client, csrf, profile.id, "x" * 4001).status_code == 422
    assert send(client, csrf, profile.id, "ok", tok="not a token!").status_code == 422
    again = token()
    assert send(client, csrf, profile.id, "once", tok=again).status_code == 200
    resent = send(client, csrf, profile.id, "once", tok=again)  # a re-send: the same bubble, stored once
    assert resent.status_code == 200 and "once" in resent.get_data(as_text=True)
    with app_context():
        with write_transaction():
            db.session.execute(update(Profile).where(Profile.id == profile.id).values(active=False))
    assert send(client, csrf, profile.id, "hidden?").status_code == 404
    assert count(Message) == 2  # "first" and "once"


def test_a_moderator_writing_as_a_client_is_refused(app, client):
    _, profile, _ = _client_in_a_conversation(app, client)
    moderator_client = app.test_client()
    moderator = make_user(Role.MODERATOR)
    csrf = login(moderator_client, moderator.email)
    assert send(moderator_client, csrf, profile.id, "").status_code == 403  # the role first, then the input
    assert send(moderator_client, csrf, profile.id, "hello").status_code == 403
    assert count(Message) == 1


def test_a_client_who_is_no_longer_one_is_refused_in_their_own_conversation(app, client):
    """The statement checks the sender's role itself: no guard loaded the user before it."""
    user, profile, csrf = _client_in_a_conversation(app, client)
    with app_context():
        with write_transaction():
            db.session.execute(update(User).where(User.id == user.id).values(role=Role.MODERATOR))
    assert send(client, csrf, profile.id, "still a client?").status_code == 403
    assert count(Message) == 1


def test_a_conversation_nobody_holds_any_more_goes_to_a_moderator_with_the_next_message(app, client):
    """Its holder was disabled (their conversations released): the client's next message, in the
    conversation they have, hands it to the online moderator."""
    admin = app.test_client()
    admin_csrf = login(admin, make_user(Role.ADMIN).email)
    first_holder = make_user(Role.MODERATOR, online=True)
    user, profile = make_user(), make_profile()
    csrf = login(client, user.email)
    assert send(client, csrf, profile.id, "first").status_code == 200
    admin.post(f"/admin/users/{first_holder.id}/active", data={"csrf_token": admin_csrf, "active": "0"})
    with app_context():
        assert Conversation.query.one().assigned_moderator_id is None
    next_holder = make_user(Role.MODERATOR, online=True)
    answer = send(client, csrf, profile.id, "anyone there?")
    assert answer.status_code == 200 and "anyone there?" in answer.get_data(as_text=True)
    with app_context():
        conversation = Conversation.query.one()
        assert conversation.assigned_moderator_id == next_holder.id and conversation.pending_count == 2
    assert count(Message) == 2


@pytest.mark.skipif(not ON_POSTGRESQL, reason="the order of PostgreSQL's tries")
def test_a_first_message_the_page_says_opens_the_conversation_is_not_tried_in_one_first(app, client):
    """The page showed no conversation (``opens``): the opening is the first statement that writes,
    with no try in a conversation the client has before it; then the decision."""
    moderator, _, _, statements = _first_message(client, opens=True)
    assert "INSERT INTO conversations" in statements[0], statements
    assert not [statement for statement in statements if statement.lstrip().startswith("WITH t AS")], statements
    # what the decision needs to know came with it: no situation read (the decision itself is
    # sent with its turn and commit by the driver, outside these statements)
    assert len(statements) == 1, statements
    with app_context():
        conversation = Conversation.query.one()
        assert conversation.assigned_moderator_id == moderator.id and conversation.pending_count == 1
        assert [m.body for m in Message.query.all()] == ["hello there"]


@pytest.mark.skipif(not ON_POSTGRESQL, reason="the order of PostgreSQL's tries")
@pytest.mark.parametrize("approached", [False, True], ids=["new client", "client the holder approaches"])
def test_a_first_message_to_a_profile_its_holder_keeps_reads_nothing_before_the_decision(app, client, approached):
    """The profile's holder answers another client of it, another moderator is less busy: the
    opening read who holds the profile (and that nobody else approaches the client), so the
    decision keeps it with its holder without reading the situation first (the decision itself is
    sent with its turn and commit by the driver). Also when the holder approaches the client
    already, through another of their profiles."""
    holder, profile = make_user(Role.MODERATOR, online=True), make_profile()
    first = app.test_client()
    assert send(first, login(first, make_user().email), profile.id, "first").status_code == 200
    user = make_user()
    csrf = login(client, user.email)
    if approached:  # the client wrote to another profile the holder took: the holder approaches them
        other = make_profile("Other")
        assert send(client, csrf, other.id, "hi there").status_code == 200
    make_user(Role.MODERATOR, online=True)  # less busy: a fresh decision would give them the profile
    with app_context():
        engine = db.engine
    with recorded_statements(engine, this_thread_only=True) as statements:
        response = send(client, csrf, profile.id, "me too", opens=True)
    assert response.status_code == 200 and "me too" in response.get_data(as_text=True)
    assert len(statements) == 1 and "INSERT INTO conversations" in statements[0], statements
    with app_context():
        held = db.session.scalars(select(Conversation.assigned_moderator_id)
                                  .where(Conversation.profile_id == profile.id)).all()
        assert held == [holder.id, holder.id]


@pytest.mark.skipif(not ON_POSTGRESQL, reason="the opening statement is PostgreSQL's")
def test_the_opening_reads_who_holds_the_profile_and_who_approaches_the_client(app):
    """The opening's row says who holds the profile and who approaches the client (an unexpired
    client lock): what the decision needs to know to go without reading the situation first."""
    from app.services import locks
    from app.services.assignment import Seen
    from app.services.sending import postgresql
    from app.services.sending.rows import UNCHECKED_SESSION

    moderator, other = make_user(Role.MODERATOR), make_user(Role.MODERATOR)
    held, elsewhere = make_profile("Held"), make_profile("Elsewhere")
    approached, once_approached = make_user(), make_user()
    now = utcnow()
    with app_context():
        with write_transaction():
            db.session.add(ProfileAssignment(profile_id=held.id, moderator_id=moderator.id, assigned_at=now))
            locks.lock_client(approached.id, elsewhere.id, other.id, now, seconds=30)
            locks.lock_client(once_approached.id, elsewhere.id, other.id, now - timedelta(minutes=5), seconds=30)

    def seen(client_id: int, profile_id: int) -> Seen:
        with app_context():
            with write_transaction():
                stored = postgresql.store_first(client_id, profile_id, "hello", token(), now, UNCHECKED_SESSION)
        return stored[3]

    assert seen(make_user().id, make_profile("Free").id) == Seen(None, None)
    assert seen(make_user().id, held.id) == Seen(moderator.id, None)                 # the profile has its holder
    assert seen(approached.id, make_profile("Other").id) == Seen(None, other.id)     # someone approaches the client
    assert seen(approached.id, held.id) == Seen(moderator.id, other.id)
    assert seen(once_approached.id, make_profile("Another").id) == Seen(None, None)  # that approach is over


def test_a_page_wrong_about_opening_the_conversation_stores_the_message_once_in_it(app, client):
    """Another tab opened the conversation meanwhile: the message goes into it (counted, once,
    re-sent or not), as it would without the field."""
    _, profile, csrf = _client_in_a_conversation(app, client)
    tok = token()
    for _ in range(2):  # the same message sent again
        response = send(client, csrf, profile.id, "from the other tab", tok=tok, opens=True)
        assert response.status_code == 200 and "from the other tab" in response.get_data(as_text=True)
    with app_context():
        conversation = Conversation.query.one()
        assert conversation.pending_count == 2
        assert [m.body for m in Message.query.order_by(Message.id)] == ["first", "from the other tab"]


def test_the_usual_message_is_one_write_on_postgresql(app, client, tmp_path):
    """The statement is the whole write there, so it is its own transaction: no BEGIN and no COMMIT
    on the wire (read from libpq's protocol trace): one query (the sanctions checked inside it) and
    its answer."""
    if not ON_POSTGRESQL:
        pytest.skip("SQLite writes begin with BEGIN IMMEDIATE")
    _, profile, csrf = _client_in_a_conversation(app, client)
    with app_context():
        engine = db.engine
    trace = (tmp_path / "libpq.trace").open("w")
    traced_connections = []

    def traced(dbapi_connection, *_):
        dbapi_connection.pgconn.trace(trace.fileno())
        dbapi_connection.pgconn.set_trace_flags(0)
        traced_connections.append(dbapi_connection)

    event.listen(engine, "checkout", traced)
    try:
        response = send(client, csrf, profile.id, "second")
    finally:
        event.remove(engine, "checkout", traced)
        for connection in traced_connections:  # libpq writes to the file until told to stop
            connection.pgconn.untrace()
        trace.close()
    assert response.status_code == 200 and "second" in response.get_data(as_text=True)
    lines = [line.split("\t") + [""] for line in (tmp_path / "libpq.trace").read_text().splitlines()]
    sent = [(fields[3], fields[4].strip()) for fields in lines if fields[1] == "F"]  # time, F/B, length, kind, detail
    queries = [detail for kind, detail in sent if kind == "Query"]  # simple protocol: BEGIN, COMMIT...
    syncs = [kind for kind, _ in sent if kind == "Sync"]             # extended protocol: one per statement
    assert queries == [] and len(syncs) == 1, sent
    parsed = [detail for kind, detail in sent if kind == "Parse"]
    assert len(parsed) == 1 and parsed[0].startswith('"" "WITH t AS'), parsed
    assert count(Message) == 2


def test_a_quiet_conversation_written_to_again_counts_in_its_holders_load(app, client):
    """Not the one-statement case: the message and the holder's load + 1 go in one transaction."""
    _, profile, csrf = _client_in_a_conversation(app, client)
    with app_context():
        with write_transaction():  # answered, and quiet for 40 minutes
            long_ago = utcnow() - timedelta(minutes=40)
            db.session.execute(update(Conversation).values(awaiting_reply_since=None, pending_count=0,
                                                           last_message_at=long_ago))
            db.session.execute(update(QueueEntry).values(load=0))
    with app_context():
        engine = db.engine
    with recorded_statements(engine) as statements:
        assert send(client, csrf, profile.id, "back again").status_code == 200
    if ON_POSTGRESQL:  # the one-statement try that stored nothing, then the statement in a transaction
        stores = [statement for statement in statements if "INSERT INTO messages" in statement]
        assert len(stores) == 2, statements
        for statement in stores:
            assert_parsed_once(statement)
    with app_context():
        conversation = Conversation.query.one()
        assert conversation.pending_count == 1 and conversation.awaiting_reply_since is not None
        assert db.session.scalar(select(QueueEntry.load).where(
            QueueEntry.moderator_id == conversation.assigned_moderator_id)) == 1
    assert count(Message) == 2
