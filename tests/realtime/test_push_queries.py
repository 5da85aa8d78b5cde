"""The pushes of a client message render from what storing it returned: no query of their own."""
from datetime import timedelta

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
