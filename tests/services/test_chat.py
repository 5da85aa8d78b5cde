"""Posting, replying and reading history, as plain functions (no HTTP)."""
from datetime import datetime, timedelta

import pytest

from app.database import write_transaction
from app.extensions import db
from app.models import Conversation, Message, QueueEntry, Role
from app.services import assignment, chat, sending
from app.services.errors import Forbidden, NotFound, ValidationError
from tests.support.factories import make_profile, make_user, token

NOW = datetime(2026, 11, 23, 12, 0, 0)


def post(client, profile, body="bonjour", tok=None, now=NOW):
    with write_transaction():
        return sending.post_client_message(client, profile.id, body, tok or token(), now)


def test_first_message_creates_conversation_waiting_and_assigned_to_online_moderator(ctx):
    client, profile = make_user(), make_profile()
    offline = make_user(Role.MODERATOR)
    online = make_user(Role.MODERATOR, online=True)
    posted = post(client, profile)
    conversation = posted.message.conversation
    assert posted.created
    assert conversation.assigned_moderator_id == online.id != offline.id
    assert conversation.awaiting_reply_since == NOW
    assert conversation.pending_count == 1


def test_assignment_goes_to_the_least_loaded_online_moderator(ctx):
    busy = make_user(Role.MODERATOR, online=True)
    idle = make_user(Role.MODERATOR, online=True)
    first = post(make_user(), make_profile(name="A")).message.conversation
    second = post(make_user(), make_profile(name="B")).message.conversation
    assert {first.assigned_moderator_id, second.assigned_moderator_id} == {busy.id, idle.id}


def test_a_profile_with_active_conversations_keeps_its_moderator(ctx):
    make_user(Role.MODERATOR, online=True)
    make_user(Role.MODERATOR, online=True)
    profile = make_profile()
    first = post(make_user(), profile).message.conversation
    second = post(make_user(), profile).message.conversation   # the other moderator is less loaded
    assert second.assigned_moderator_id == first.assigned_moderator_id == assignment.holder(profile.id)


def test_a_profile_without_active_work_goes_to_the_least_loaded(ctx):
    busy = make_user(Role.MODERATOR, online=True)
    profile, other = make_profile(name="A"), make_profile(name="B")
    first = post(make_user(), profile).message.conversation
    with write_transaction():
        chat.post_profile_reply(busy, first.id, "hi", token(), NOW)
    later = NOW + timedelta(minutes=31)            # the first conversation is over (no longer active)
    post(make_user(), other, now=later)            # busy now waits on B: load 1
    idle = make_user(Role.MODERATOR, online=True)  # load 0
    third = post(make_user(), profile, now=later).message.conversation
    # A fresh decision for A: the least loaded gets it, and the profile follows with its history.
    assert third.assigned_moderator_id == idle.id == assignment.holder(profile.id)
    db.session.refresh(first)
    assert first.assigned_moderator_id == idle.id

def test_no_moderator_online_leaves_conversation_unassigned(ctx):
    make_user(Role.MODERATOR)
    posted = post(make_user(), make_profile())
    assert posted.message.conversation.assigned_moderator_id is None


def test_resent_message_with_same_token_is_stored_once(ctx):
    client, profile = make_user(), make_profile()
    tok = token()
    first = post(client, profile, tok=tok)
    again = post(client, profile, tok=tok)
    assert first.created and not again.created
    assert again.message.id == first.message.id
    assert db.session.query(Message).count() == 1
    assert first.message.conversation.pending_count == 1


@pytest.mark.parametrize("body", ["", "   ", "x" * 4001])
def test_empty_or_oversized_message_is_refused_and_nothing_stored(ctx, body):
    client, profile = make_user(), make_profile()
    with pytest.raises(ValidationError):
        post(client, profile, body=body)
    assert db.session.query(Message).count() == 0
    assert db.session.query(Conversation).count() == 0


def test_message_of_exactly_4000_characters_is_accepted(ctx):
    posted = post(make_user(), make_profile(), body="y" * 4000)
    assert len(posted.message.body) == 4000


def test_unknown_or_hidden_profile_is_not_found(ctx):
    client = make_user()
    with pytest.raises(NotFound), write_transaction():
        sending.post_client_message(client, 999999, "hi", token(), NOW)
    hidden = make_profile()
    with write_transaction():
        hidden.active = False
    with pytest.raises(NotFound), write_transaction():
        sending.post_client_message(client, hidden.id, "hi", token(), NOW)


def test_reply_clears_waiting_and_only_the_assigned_moderator_may_reply(ctx):
    moderator = make_user(Role.MODERATOR, online=True)
    other = make_user(Role.MODERATOR, online=True)
    client, profile = make_user(), make_profile()
    conversation = post(client, profile).message.conversation
    holder = moderator if conversation.assigned_moderator_id == moderator.id else other
    intruder = other if holder is moderator else moderator
    with pytest.raises(Forbidden), write_transaction():
        chat.post_profile_reply(intruder, conversation.id, "hello", token(), NOW)
    with write_transaction():
        reply = chat.post_profile_reply(holder, conversation.id, "bonjour !", token(), NOW + timedelta(seconds=5))
    db.session.refresh(conversation)
    assert reply.message.author_id == holder.id and reply.message.sender.value == "profile"
    assert conversation.awaiting_reply_since is None and conversation.pending_count == 0


def test_history_pages_backwards_and_catches_up_forwards(ctx):
    client, profile = make_user(), make_profile()
    ids = [post(client, profile, body=f"m{i}", now=NOW + timedelta(seconds=i)).message.id for i in range(120)]
    conversation_id = db.session.get(Message, ids[0]).conversation_id
    latest = chat.history(conversation_id, limit=50)
    assert [m.id for m in latest] == ids[-50:]
    older = chat.history(conversation_id, before_id=latest[0].id, limit=50)
    assert [m.id for m in older] == ids[-100:-50]
    newer = chat.history(conversation_id, after_id=ids[-3])
    assert [m.id for m in newer] == ids[-2:]


def test_moderator_list_puts_waiting_conversations_first_newest_on_top(ctx):
    moderator = make_user(Role.MODERATOR, online=True)
    profile = make_profile()
    a = post(make_user(), profile, now=NOW).message.conversation
    b = post(make_user(), profile, now=NOW + timedelta(minutes=1)).message.conversation
    c = post(make_user(), profile, now=NOW + timedelta(minutes=2)).message.conversation
    with write_transaction():
        chat.post_profile_reply(moderator, c.id, "answered", token(), NOW + timedelta(minutes=3))
    order = [conv.id for conv in chat.moderator_conversations(moderator.id)]
    assert order == [b.id, a.id, c.id]


def test_a_profile_hidden_after_the_conversation_began_takes_no_more_messages(ctx):
    client, profile = make_user(), make_profile()
    post(client, profile)
    with write_transaction():
        profile.active = False
    with pytest.raises(NotFound), write_transaction():
        sending.post_client_message(client, profile.id, "still there?", token(), NOW + timedelta(minutes=1))
    conversation = db.session.query(Conversation).one()
    db.session.refresh(conversation)
    assert db.session.query(Message).count() == 1 and conversation.pending_count == 1


def test_the_second_message_comes_back_with_what_the_pushes_render(ctx):
    """Holder, profile, client and the profile's lock arrive with the stored message: the pushes
    that follow read them without loading anything."""
    moderator = make_user(Role.MODERATOR, online=True)
    client, profile = make_user(), make_profile("Iris")
    conversation_id = post(client, profile).message.conversation_id
    db.session.expunge_all()
    posted = post(db.session.get(type(client), client.id), profile, body="encore", now=NOW + timedelta(seconds=30))
    conversation = posted.message.conversation
    assert conversation.id == conversation_id and conversation.pending_count == 2
    loaded = conversation.__dict__
    assert loaded["moderator"].id == moderator.id and loaded["profile"].name == "Iris"
    assert loaded["client"].id == client.id and "profile_lock" in loaded


def test_a_quiet_conversation_counts_again_in_its_holders_load_when_the_client_writes(ctx):
    moderator = make_user(Role.MODERATOR, online=True)
    client, profile = make_user(), make_profile()
    conversation = post(client, profile).message.conversation
    with write_transaction():
        chat.post_profile_reply(moderator, conversation.id, "bonjour", token(), NOW + timedelta(minutes=1))

    def load():
        db.session.expire_all()
        return db.session.query(QueueEntry).filter_by(moderator_id=moderator.id).one().load

    before = load()
    post(client, profile, now=NOW + timedelta(minutes=5))        # still active: the same work
    assert load() == before
    with write_transaction():
        chat.post_profile_reply(moderator, conversation.id, "à bientôt", token(), NOW + timedelta(minutes=6))
    post(client, profile, now=NOW + timedelta(minutes=40))       # quiet for over 30 minutes: counts again
    assert load() == before + 1
