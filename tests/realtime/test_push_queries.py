"""The pushes of a client message render from what storing it returned: no query of their own."""
import os
from datetime import timedelta

import pytest
from flask_login import login_user
from sqlalchemy import event

from app.database import write_transaction
from app.extensions import db
from app.models import Role, User
from app.models._time import utcnow
from app.realtime import push
from app.services import chat
from tests.support import make_profile, make_user, token


def test_pushes_of_a_message_in_an_existing_conversation_run_no_query(app):
    make_user(Role.MODERATOR, online=True)
    client, profile = make_user(), make_profile("Iris")
    with app.test_request_context("/"):
        sender = db.session.get(User, client.id)
        login_user(sender)
        with write_transaction():
            chat.post_client_message(sender, profile.id, "bonjour", token(), utcnow())  # creates it
        db.session.remove()
    with app.test_request_context("/"):
        sender = db.session.get(User, client.id)
        login_user(sender)
        with write_transaction():
            posted = chat.post_client_message(sender, profile.id, "encore", token(), utcnow() + timedelta(seconds=5))
        statements = []
        engine = db.engine
        listener = lambda *args, **kwargs: statements.append(args[2])  # noqa: E731 - the SQL text
        event.listen(engine, "before_cursor_execute", listener)
        try:
            push.message_posted(posted.message)
            push.message_html(posted.message, "client")  # the answer to the POST
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert statements == []
        # What the pushes do not read is still there, loaded when first read.
        conversation = posted.message.conversation
        assert conversation.profile.bio == "Bio" and conversation.moderator.email.endswith("@example.test")
        db.session.remove()


@pytest.mark.skipif(not os.environ["DATABASE_URL"].startswith("postgresql"),
                    reason="PostgreSQL only: SQLite takes the path with the user loaded")
def test_the_sender_checked_by_the_statement_is_a_full_user(app):
    """``post_as_session_client`` loads no user first: the client comes back from the statement,
    in the session like a loaded one (the pushes read it without a query, and what the statement
    did not return loads when first read)."""
    make_user(Role.MODERATOR, online=True)
    client, profile = make_user(locale="es"), make_profile("Iris")
    with app.test_request_context("/"):
        sender = db.session.get(User, client.id)
        login_user(sender)
        with write_transaction():
            chat.post_client_message(sender, profile.id, "hola", token(), utcnow())  # creates it
        db.session.remove()
    with app.test_request_context("/"):
        with write_transaction():
            posted = chat.post_as_session_client(client.id, profile.id, "otra vez", token(),
                                                 utcnow() + timedelta(seconds=5))
        sender = posted.message.conversation.client
        assert sender in db.session and sender.id == client.id and sender.locale == "es"
        assert db.session.get(User, client.id) is sender  # the session's one and only copy
        statements = []
        engine = db.engine
        listener = lambda *args, **kwargs: statements.append(args[2])  # noqa: E731 - the SQL text
        event.listen(engine, "before_cursor_execute", listener)
        try:
            push.message_posted(posted.message)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert statements == []
        assert sender.email == client.email  # not returned by the statement: loaded now
        db.session.remove()
