"""The pushes of a client message render from what storing it returned: no query of their own."""
from datetime import timedelta

import pytest
from sqlalchemy import select
from flask_login import login_user

from app.database import write_transaction
from app.extensions import db
from app.models import Message, Role, User
from app.clock import utcnow
from app.realtime import push
from app.web.fragments import message_html
from app.services import sending
from tests.support.factories import make_profile, make_user, token
from tests.support.sql import recorded_statements


def _first_message(app, client_id: int, profile_id: int, when) -> int:
    """The client's first message to the profile, in a request of their own: their conversation's id."""
    with app.test_request_context("/"):
        sender = db.session.get(User, client_id)
        login_user(sender)
        with write_transaction():
            posted = sending.post_client_message(sender, profile_id, "bonjour", token(), when)
        conversation_id = posted.message.conversation_id
        db.session.remove()
    return conversation_id


def test_pushes_of_a_message_in_an_existing_conversation_run_no_query(app):
    make_user(Role.MODERATOR, online=True)
    client, profile = make_user(), make_profile("Iris")
    _first_message(app, client.id, profile.id, utcnow())
    with app.test_request_context("/"):
        sender = db.session.get(User, client.id)
        login_user(sender)
        with write_transaction():
            posted = sending.post_client_message(sender, profile.id, "encore", token(), utcnow() + timedelta(seconds=5))
        with recorded_statements(db.engine) as statements:
            push.message_posted(posted.message)
            message_html(posted.message, "client", posted.message.conversation.client.locale)  # the answer to the POST
        assert statements == []
        # What the pushes do not read is still there, loaded when first read.
        conversation = posted.message.conversation
        assert conversation.profile.bio == "Bio" and conversation.moderator.email.endswith("@example.test")
        db.session.remove()


def test_the_sender_checked_by_the_statement_is_a_full_user(app):
    """``sending.send_client_message`` loads no user first: the client comes back from the statement,
    in the session like a loaded one (the pushes read it without a query, and what the statement
    did not return loads when first read)."""
    make_user(Role.MODERATOR, online=True)
    client, profile = make_user(locale="es"), make_profile("Iris")
    _first_message(app, client.id, profile.id, utcnow())
    with app.test_request_context("/"):
        posted = sending.send_client_message(client.id, profile.id, "otra vez", token(), utcnow() + timedelta(seconds=5))
        sender = posted.message.conversation.client
        assert sender in db.session and sender.id == client.id and sender.locale == "es"
        assert db.session.get(User, client.id) is sender  # the session's one and only copy
        with recorded_statements(db.engine) as statements:
            push.message_posted(posted.message)
        assert statements == []
        assert sender.email == client.email  # not returned by the statement: loaded now
        db.session.remove()


def _rendered_pushes(message) -> list[str]:
    """What message_posted publishes, and the answer to the POST, for one stored message."""
    conversation = message.conversation
    return [push._render_for(conversation.moderator, "partials/push/_moderator_message.html",
                             conversation=conversation, message=message),
            push._render_for(conversation.client, "partials/push/_client_message.html",
                             conversation=conversation, message=message, bubble=None),
            str(message_html(message, "client", message.conversation.client.locale))]


@pytest.mark.parametrize("answering", [False, True])
def test_pushes_rendered_from_snapshots_are_those_rendered_from_orm_rows(app, answering):
    """``sending.send_client_message`` hands the pushes snapshots of the rows its statement returned:
    the moderator's list item (names, picture, badge, "answering" flag, language), the bubbles and
    the client's push read the same as from the ORM's rows of the same message."""
    from app.services import locks
    from app.services.snapshots import Snapshot

    moderator = make_user(Role.MODERATOR, online=True, locale="de")
    client, profile = make_user(locale="es"), make_profile("Iris")
    start = utcnow()
    conversation_id = _first_message(app, client.id, profile.id, start)
    if answering:
        with app.test_request_context("/"):
            with write_transaction():
                assert locks.start_answering(conversation_id, moderator.id, start) is not None
            db.session.remove()
    with app.test_request_context("/"):
        posted = sending.send_client_message(client.id, profile.id, "otra <b>vez</b>", token(), start + timedelta(seconds=5))
        assert isinstance(posted.message, Snapshot)
        from_snapshots = _rendered_pushes(posted.message)
        message_id = posted.message.id
        db.session.remove()
    with app.test_request_context("/"):
        from_orm = _rendered_pushes(db.session.get(Message, message_id))
        db.session.remove()
    assert from_snapshots == from_orm
    item = from_snapshots[0]
    assert "Iris" in item and "Wartet seit" in item and "otra &lt;b&gt;vez&lt;/b&gt;" in item
    assert ('class="lock-flag"' in item) is answering


def test_the_comparison_covers_every_template_a_message_push_renders(app, monkeypatch):
    """``_rendered_pushes`` renders what ``message_posted`` renders, template for template: a new
    template in the message's pushes must join the snapshot-against-ORM comparison above."""
    make_user(Role.MODERATOR, online=True)
    client, profile = make_user(), make_profile("Iris")
    conversation_id = _first_message(app, client.id, profile.id, utcnow())
    with app.test_request_context("/"):
        message = db.session.scalar(select(Message).where(Message.conversation_id == conversation_id))
        loaded: list[str] = []
        original = app.jinja_env.get_template
        monkeypatch.setattr(app.jinja_env, "get_template",
                            lambda name, *args, **kwargs: loaded.append(name) or original(name, *args, **kwargs))
        push.message_posted(message)
        pushed, loaded[:] = set(loaded), []
        _rendered_pushes(message)
        compared = set(loaded)
        db.session.remove()
    assert pushed and pushed <= compared, pushed - compared
