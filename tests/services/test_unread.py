"""Unread counts and read receipts, as plain functions: the client's counter moved by replies and
recounted by reading, the total the reply returns for the badge, and when each side sees "Seen"."""
from datetime import datetime, timedelta

from sqlalchemy import select

from app.database import write_transaction
from app.extensions import db
from app.models import Conversation, Role
from app.models.chat import Sender
from app.services import chat, events, reading, sending
from tests.support.factories import make_profile, make_user, token

NOW = datetime(2026, 11, 23, 12, 0, 0)


def ask(client, profile, body="bonjour", now=NOW):
    with write_transaction():
        return sending.post_client_message(client, profile.id, body, token(), now).message


def reply(moderator, conversation_id, body="salut", now=NOW):
    recorded = []
    events.subscribe(recorded.append)
    try:
        with write_transaction():
            message = chat.post_profile_reply(moderator, conversation_id, body, token(), now).message
    finally:
        events.unsubscribe(recorded.append)
    posted = [e for batch in recorded for e in batch if isinstance(e, events.MessagePosted)]
    return message, posted[0].client_unread_total


def state(conversation_id):
    db.session.expire_all()
    return db.session.get(Conversation, conversation_id)


def test_replies_count_as_unread_until_the_client_reads_them_and_the_reply_returns_the_total(ctx):
    moderator = make_user(Role.MODERATOR, online=True)
    client, first, second = make_user(), make_profile("Iris"), make_profile("Noor")
    a = ask(client, first).conversation_id
    b = ask(client, second).conversation_id
    one, total = reply(moderator, a, "one")
    assert total == 1 and state(a).client_unread_count == 1
    two, total = reply(moderator, a, "two")
    assert total == 2 and state(a).client_unread_count == 2
    _, total = reply(moderator, b, "elsewhere")
    assert total == 3 and state(b).client_unread_count == 1          # over all the client's conversations
    assert reading.client_unread_total(client.id) == 3

    with write_transaction():                                        # the page showed the first reply only
        assert reading.mark_read_by_client(client, first.id, one.id, NOW + timedelta(seconds=5))
    assert state(a).client_unread_count == 1 and reading.client_unread_total(client.id) == 2
    with write_transaction():
        assert reading.mark_read_by_client(client, first.id, two.id, NOW + timedelta(seconds=6))
        assert not reading.mark_read_by_client(client, first.id, one.id, NOW + timedelta(seconds=7))  # backwards
    assert state(a).client_unread_count == 0 and reading.client_unread_total(client.id) == 1
    # The client's own messages never count, nor do other clients' replies.
    ask(client, first, "merci")
    other = make_user()
    reply(moderator, ask(other, first).conversation_id)
    assert state(a).client_unread_count == 0 and reading.client_unread_total(client.id) == 1


def test_a_read_position_that_moves_is_recorded_once(ctx):
    moderator = make_user(Role.MODERATOR, online=True)
    client, profile = make_user(), make_profile()
    conversation_id = ask(client, profile).conversation_id
    answer, _ = reply(moderator, conversation_id)
    recorded = []
    events.subscribe(recorded.append)
    try:
        for _ in range(2):
            with write_transaction():
                reading.mark_read_by_client(client, profile.id, answer.id, NOW)
                reading.mark_read_by_moderator(moderator, conversation_id, answer.id, NOW)
    finally:
        events.unsubscribe(recorded.append)
    moved = [e for batch in recorded for e in batch if isinstance(e, events.ReadMoved)]
    assert moved == [events.ReadMoved(conversation_id, "client"), events.ReadMoved(conversation_id, "profile")]


def test_the_receipt_rule():
    at = NOW
    assert reading.receipt_rule(Sender.CLIENT, 10, Sender.CLIENT, 10, at) == reading.Receipt(True, at)
    assert reading.receipt_rule(Sender.CLIENT, 10, Sender.CLIENT, 12, at).seen
    assert not reading.receipt_rule(Sender.CLIENT, 10, Sender.CLIENT, 9, at).seen      # not that far yet
    assert not reading.receipt_rule(Sender.CLIENT, 10, Sender.CLIENT, None, None).seen  # never opened
    assert not reading.receipt_rule(Sender.CLIENT, 10, Sender.PROFILE, 10, at).seen    # the last word is theirs
    assert not reading.receipt_rule(Sender.PROFILE, None, None, None, None).seen       # no message yet
    assert reading.receipt_rule(Sender.PROFILE, 7, Sender.PROFILE, 7, at).at == at


def test_each_side_sees_seen_once_the_other_was_shown_its_last_message(ctx):
    moderator = make_user(Role.MODERATOR, online=True)
    client, profile = make_user(), make_profile()
    question = ask(client, profile, "tu es là ?")
    conversation_id = question.conversation_id

    def receipt(side):
        return reading.receipt(state(conversation_id), side)

    assert receipt(Sender.CLIENT) == reading.NOT_SEEN
    with write_transaction():
        reading.open_for_moderator(moderator, conversation_id, size=50, unread_max=500)   # loaded only
    assert receipt(Sender.CLIENT) == reading.NOT_SEEN
    seen_at = NOW + timedelta(minutes=2)
    with write_transaction():
        reading.mark_read_by_moderator(moderator, conversation_id, question.id, seen_at)
    assert receipt(Sender.CLIENT) == reading.Receipt(True, seen_at)
    assert receipt(Sender.PROFILE) == reading.NOT_SEEN              # the moderator's side wrote nothing yet

    ask(client, profile, "allô ?")                                  # a newer message: not seen yet
    assert receipt(Sender.CLIENT) == reading.NOT_SEEN
    answer, _ = reply(moderator, conversation_id, "oui")
    assert receipt(Sender.CLIENT) == reading.NOT_SEEN and receipt(Sender.PROFILE) == reading.NOT_SEEN
    read_at = NOW + timedelta(minutes=5)
    with write_transaction():
        reading.mark_read_by_client(client, profile.id, answer.id, read_at)
    assert receipt(Sender.PROFILE) == reading.Receipt(True, read_at)
    opened = reading.open_for_moderator(moderator, conversation_id, size=50, unread_max=500)
    assert opened.receipt == reading.Receipt(True, read_at) and opened.read_up_to == question.id
    assert db.session.scalar(select(Conversation.client_unread_count).where(Conversation.id == conversation_id)) == 0
