"""Inactivity with a controllable clock: a moderator idle for a minute loses waiting work."""
from datetime import datetime, timedelta

from app.database import write_transaction
from app.extensions import db
from app.models import AssignmentChange, ChangeReason, Conversation, Role
from app.services import chat, inactivity, sending
from tests.support.factories import make_profile, make_user, token

T0 = datetime(2026, 11, 23, 12, 0, 0)


def online_moderator(last_activity):
    moderator = make_user(Role.MODERATOR, online=True)
    with write_transaction():
        moderator = db.session.merge(moderator)
        moderator.last_online_at = T0 - timedelta(minutes=10)
        moderator.last_activity_at = last_activity
    return moderator


def waiting_conversation(now):
    with write_transaction():
        return sending.post_client_message(make_user(), make_profile().id, "allô ?", token(), now).message.conversation


def test_idle_moderator_loses_waiting_conversations_after_one_minute(ctx):
    idle = online_moderator(T0)
    conversation = waiting_conversation(T0)
    assert conversation.assigned_moderator_id == idle.id
    busy = online_moderator(T0 + timedelta(seconds=5))

    with write_transaction():
        assert inactivity.reassign_from_idle_moderators(T0 + timedelta(seconds=59)).taken == {}
    with write_transaction():
        moves = inactivity.reassign_from_idle_moderators(T0 + timedelta(seconds=61))
    assert moves.taken == {idle.id: [(conversation.id, busy.id)]}
    db.session.refresh(conversation)
    assert conversation.assigned_moderator_id == busy.id
    change = db.session.query(AssignmentChange).filter_by(reason=ChangeReason.INACTIVITY).one()
    assert (change.from_moderator_id, change.to_moderator_id) == (idle.id, busy.id)


def test_typing_or_replying_keeps_the_work(ctx):
    moderator = online_moderator(T0)
    conversation = waiting_conversation(T0)
    online_moderator(T0)
    with write_transaction():
        inactivity.record_activity(db.session.merge(moderator), T0 + timedelta(seconds=50))
    with write_transaction():
        assert inactivity.reassign_from_idle_moderators(T0 + timedelta(seconds=61)).taken == {}
    db.session.refresh(conversation)
    assert conversation.assigned_moderator_id == moderator.id


def test_fresh_work_is_not_taken_back_and_nobody_else_means_it_stays(ctx):
    alone = online_moderator(T0 - timedelta(minutes=30))
    conversation = waiting_conversation(T0)        # assigned at T0 to someone idle for 30 min
    with write_transaction():
        assert inactivity.reassign_from_idle_moderators(T0 + timedelta(seconds=30)).taken == {}
    with write_transaction():                      # idle, but no other moderator online
        assert inactivity.reassign_from_idle_moderators(T0 + timedelta(seconds=90)).taken == {}
    db.session.refresh(conversation)
    assert conversation.assigned_moderator_id == alone.id


def test_answered_conversations_are_never_moved(ctx):
    moderator = online_moderator(T0)
    conversation = waiting_conversation(T0)
    with write_transaction():
        chat.post_profile_reply(db.session.merge(moderator), conversation.id, "oui !", token(), T0 + timedelta(seconds=1))
    online_moderator(T0 + timedelta(minutes=5))
    with write_transaction():
        assert inactivity.reassign_from_idle_moderators(T0 + timedelta(minutes=5)).taken == {}
    assert db.session.get(Conversation, conversation.id).assigned_moderator_id == moderator.id


def approached_through_two_profiles(now):
    """An idle moderator holding two profiles, each with a conversation waiting since ``T0``;
    at ``now`` a client writes to both (two tabs): both go to that moderator, under one client
    lock. Two active moderators are online. Returns (idle, client, the client's two conversations)."""
    idle = online_moderator(T0 - timedelta(minutes=10))
    first, second = make_profile(name="P0"), make_profile(name="P1")
    for profile in (first, second):
        waiting_conversation_with(profile, T0)
    for _ in range(2):
        online_moderator(now)
    client = make_user()
    with write_transaction():
        conversations = [sending.post_client_message(client, p.id, "coucou", token(), now).message.conversation
                         for p in (first, second)]
    assert {c.assigned_moderator_id for c in conversations} == {idle.id}
    return idle, client, conversations


def waiting_conversation_with(profile, now):
    with write_transaction():
        return sending.post_client_message(make_user(), profile.id, "allô ?", token(), now).message.conversation


def test_an_approached_client_moves_whole_with_its_lock(ctx):
    from app.models import ClientLock

    idle, client, conversations = approached_through_two_profiles(T0 + timedelta(seconds=55))
    now = T0 + timedelta(seconds=61)  # the old waiting work is a minute old; the client's is 6 s old
    with write_transaction():
        moves = inactivity.reassign_from_idle_moderators(now)
    assert set(moves.taken) == {idle.id} and len(moves.taken[idle.id]) == 4  # both profiles, 2 each
    db.session.expire_all()
    holders = {db.session.get(Conversation, c.id).assigned_moderator_id for c in conversations}
    assert len(holders) == 1 and holders != {idle.id}
    lock = db.session.query(ClientLock).filter_by(client_id=client.id).one()
    assert {lock.moderator_id} == holders                       # the approach went with the work,
    assert (lock.locked_at, lock.expires_at) == (now, now + timedelta(seconds=30))  # restarted
