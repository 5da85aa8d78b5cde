"""Where each side left off: the first message a reader had not seen, the page that reaches it,
and read positions that only move forward within their own conversation."""
import pytest

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Conversation, Message, Role
from app.models.chat import Sender
from app.services import reading
from app.services.errors import Forbidden, NotFound
from tests.support.factories import make_user, token
from tests.support.history import long_conversation

PAGE, UNREAD_MAX = 50, 500


def add(conversation, *senders):
    """New messages at the end of the conversation; returns their ids."""
    rows = [Message(conversation_id=conversation.conversation_id, sender=sender, body=f"new {i}", client_token=token(),
                    author_id=conversation.client.id if sender is Sender.CLIENT else conversation.moderator.id,
                    created_at=utcnow()) for i, sender in enumerate(senders)]
    with write_transaction():
        db.session.add_all(rows)
    return [row.id for row in rows]


def positions(conversation_id):
    db.session.expire_all()
    row = db.session.get(Conversation, conversation_id)
    return row.client_last_read_id, row.profile_last_read_id


def open_as(side, conversation, **limits):
    limits = {"size": PAGE, "unread_max": UNREAD_MAX, **limits}
    with write_transaction():
        if side == "client":
            return reading.open_for_client(conversation.client, conversation.profile.id, **limits)[1]
        return reading.open_for_moderator(conversation.moderator, conversation.conversation_id, **limits)


def mark_read(side, conversation, up_to):
    with write_transaction():
        if side == "client":
            return reading.mark_read_by_client(conversation.client, conversation.profile.id, up_to, utcnow())
        return reading.mark_read_by_moderator(conversation.moderator, conversation.conversation_id, up_to, utcnow())


def test_a_conversation_opens_on_the_other_sides_first_unseen_message_until_its_page_shows_it(ctx):
    """Opening (loading) marks nothing: only the page showing the messages does."""
    conversation = long_conversation(120)          # read to the end by both sides
    assert open_as("client", conversation).first_unread_id is None
    new = add(conversation, Sender.CLIENT, Sender.CLIENT, Sender.PROFILE, Sender.CLIENT)

    opened = open_as("moderator", conversation)
    assert opened.first_unread_id == new[0]        # the client's first new message
    assert opened.page.messages[-1].id == new[-1] and opened.read_up_to == conversation.message_ids[-1]
    assert positions(conversation.conversation_id) == (conversation.message_ids[-1],) * 2   # loaded, not seen
    assert open_as("moderator", conversation).first_unread_id == new[0]
    assert mark_read("moderator", conversation, new[-1])
    assert positions(conversation.conversation_id) == (conversation.message_ids[-1], new[-1])
    assert open_as("moderator", conversation).first_unread_id is None      # seen now

    opened = open_as("client", conversation)
    assert opened.first_unread_id == new[2]        # the profile's reply; the client's own do not count
    assert mark_read("client", conversation, new[-1])
    assert positions(conversation.conversation_id) == (new[-1], new[-1])


def test_the_opened_page_reaches_back_to_the_first_unseen_message_within_the_limit(ctx):
    conversation = long_conversation(250, read=False)   # every third message is the profile's
    opened = open_as("client", conversation)
    first_reply = conversation.message_ids[2]           # "message 003"
    assert opened.first_unread_id == first_reply
    assert [m.id for m in opened.page.messages] == conversation.message_ids[1:]   # one message above it
    assert opened.page.has_older                        # message 001 remains above
    assert open_as("client", conversation).first_unread_id == first_reply   # loaded only: still unseen
    assert mark_read("client", conversation, conversation.message_ids[-1])
    assert open_as("client", conversation).page.messages[0].id == conversation.message_ids[-PAGE]

    # Further back than the limit: the latest page, and no divider that could not be reached.
    opened = open_as("moderator", conversation, unread_max=200)
    assert opened.first_unread_id is None
    assert [m.id for m in opened.page.messages] == conversation.message_ids[-PAGE:]


def test_read_positions_only_move_forward_and_stay_in_their_conversation(ctx):
    conversation = long_conversation(30, read=False)
    other = long_conversation(5)                   # created later: higher ids
    ids = conversation.message_ids
    with write_transaction():
        reading.mark_read_by_client(conversation.client, conversation.profile.id, ids[9], utcnow())
    assert positions(conversation.conversation_id) == (ids[9], None)
    with write_transaction():
        reading.mark_read_by_client(conversation.client, conversation.profile.id, ids[3], utcnow())   # backwards
        reading.mark_read_by_moderator(conversation.moderator, conversation.conversation_id, other.message_ids[-1],
                                       utcnow())
    assert positions(conversation.conversation_id) == (ids[9], ids[-1])    # clamped to its own last message


def test_reading_checks_who_reads(ctx):
    conversation = long_conversation(5)
    outsider = make_user(Role.MODERATOR)
    with pytest.raises(Forbidden):
        reading.mark_read_by_moderator(outsider, conversation.conversation_id, conversation.message_ids[-1], utcnow())
    with pytest.raises(Forbidden):
        reading.open_for_moderator(outsider, conversation.conversation_id, size=PAGE, unread_max=UNREAD_MAX)
    with pytest.raises(NotFound):
        reading.moderator_history(conversation.moderator, 424242, size=PAGE)
    stranger = make_user()                         # no conversation with the profile: nothing to mark
    with write_transaction():
        reading.mark_read_by_client(stranger, conversation.profile.id, conversation.message_ids[-1], utcnow())
    assert reading.client_history(stranger, conversation.profile.id, size=PAGE,
                                  before_id=conversation.message_ids[-1])[1].messages == []
    last = conversation.message_ids[-1]
    assert positions(conversation.conversation_id) == (last, last)
