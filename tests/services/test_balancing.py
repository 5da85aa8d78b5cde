"""Load balancing with a controllable clock: spread ≥ 2 is evened out, a profile at a time; a
profile moved in the last 5 minutes never moves again, nor one its moderator is answering on,
nor one with work handed over moments ago or a client its moderator is approaching."""
from datetime import datetime, timedelta

from app.database import write_transaction
from app.extensions import db
from app.models import AssignmentChange, ChangeReason, Conversation, Role, User
from app.services import assignment, balancing, chat, sending
from tests.support.factories import make_profile, make_user, token

T0 = datetime(2026, 11, 23, 12, 0, 0)
HANDED = T0 - timedelta(seconds=90)  # longer ago than the handover grace and the client locks


def busy_moderator_with(*per_profile: int, at: datetime = HANDED):
    """One online moderator holding waiting conversations: ``per_profile[i]`` of profile i
    (nobody else online meanwhile), handed to them ``at`` (by default long enough ago for a
    reply to have been possible)."""
    moderator = make_user(Role.MODERATOR, online=True)
    for i, n in enumerate(per_profile):
        profile = make_profile(name=f"P{i}")
        for _ in range(n):
            with write_transaction():
                sending.post_client_message(make_user(), profile.id, "hello", token(), at)
    return moderator


def test_spread_of_two_or_more_is_evened_out(ctx):
    busy = busy_moderator_with(1, 1, 1, 1)
    idle = make_user(Role.MODERATOR, online=True)
    assert balancing.online_loads(T0) == {busy.id: 4, idle.id: 0}
    with write_transaction():
        result = balancing.rebalance(T0 + timedelta(seconds=10))
    assert len(result.moves) == 2 and result.touched == {busy.id, idle.id}
    assert balancing.online_loads(T0 + timedelta(seconds=10)) == {busy.id: 2, idle.id: 2}
    assert db.session.query(AssignmentChange).filter_by(reason=ChangeReason.BALANCE).count() == 2


def test_a_spread_of_one_is_left_alone(ctx):
    busy_moderator_with(1)
    make_user(Role.MODERATOR, online=True)
    with write_transaction():
        assert balancing.rebalance(T0).moves == []


def test_a_profile_moves_only_when_that_narrows_the_gap(ctx):
    busy_moderator_with(3)                     # one profile, 3 conversations
    make_user(Role.MODERATOR, online=True)
    with write_transaction():                  # moving it would only flip the gap (3/0 → 0/3)
        assert balancing.rebalance(T0 + timedelta(seconds=10)).moves == []


def test_profiles_move_whole_fewest_clients_first(ctx):
    busy = busy_moderator_with(3, 2)           # load 5: P0 has 3 conversations, P1 has 2
    idle = make_user(Role.MODERATOR, online=True)
    with write_transaction():
        result = balancing.rebalance(T0 + timedelta(seconds=10))
    # Moving P0 (3) or P1 (2) both narrow 5/0 to a gap of 1; P1 touches fewer clients: it moves, whole.
    assert balancing.online_loads(T0 + timedelta(seconds=10)) == {busy.id: 3, idle.id: 2}
    moved = {cid for cid, _, _ in result.moves}
    assert len(moved) == 2
    assert {c.profile.name for c in db.session.query(Conversation).filter(Conversation.id.in_(moved))} == {"P1"}


def test_a_profile_its_moderator_is_answering_on_stays(ctx):
    from app.services import locks

    busy = busy_moderator_with(1, 1)
    idle = make_user(Role.MODERATOR, online=True)
    conversations = db.session.query(Conversation).order_by(Conversation.id).all()
    with write_transaction():               # typing in both: both profiles locked for them
        for conversation in conversations:
            assert locks.start_answering(conversation.id, busy.id, T0) is not None
    with write_transaction():
        assert balancing.rebalance(T0 + timedelta(seconds=10)).moves == []
    with write_transaction():               # one answer sent: that profile may move again
        locks.stop_answering(conversations[0].profile_id, busy.id)
    with write_transaction():
        moves = balancing.rebalance(T0 + timedelta(seconds=20)).moves
    assert [(cid, source, target) for cid, source, target in moves] == [(conversations[0].id, busy.id, idle.id)]


def test_anti_ping_pong_keeps_recently_moved_conversations_in_place(ctx):
    busy = busy_moderator_with(1, 1)
    idle = make_user(Role.MODERATOR, online=True)
    conversations = [c.id for c in db.session.query(Conversation).order_by(Conversation.id)]
    with write_transaction():           # both were moved (by hand) a minute ago
        for cid in conversations:
            assignment.reassign(cid, idle.id, T0, ChangeReason.MANUAL)
            assignment.reassign(cid, busy.id, T0 + timedelta(seconds=1), ChangeReason.MANUAL)
    with write_transaction():
        assert balancing.rebalance(T0 + timedelta(minutes=4)).moves == []
    with write_transaction():
        moves = balancing.rebalance(T0 + timedelta(minutes=5, seconds=2)).moves
    assert [(source, target) for _, source, target in moves] == [(busy.id, idle.id)]


def test_rebalance_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["assignment", "rebalance"])
    assert result.exit_code == 0 and "0 move(s)." in result.output


def test_a_late_typing_signal_does_not_lock_again_after_the_answer(ctx):
    from app.services import locks

    busy = busy_moderator_with(1)
    conversation = db.session.query(Conversation).one()
    with write_transaction():
        assert locks.start_answering(conversation.id, busy.id, T0) is not None
        chat.post_profile_reply(db.session.get(User, busy.id), conversation.id, "hi", token(), T0)
    with write_transaction():               # the signal typed for that answer arrives after it
        assert locks.start_answering(conversation.id, busy.id, T0 + timedelta(seconds=3)) is None
    with write_transaction():               # the client writes again: typing the next answer locks
        sending.post_client_message(db.session.get(User, conversation.client_id), conversation.profile_id, "and?",
                                 token(), T0 + timedelta(seconds=20))
        assert locks.start_answering(conversation.id, busy.id, T0 + timedelta(seconds=25)) is not None


def test_a_profile_with_a_recently_moved_conversation_stays_whole(ctx):
    busy = busy_moderator_with(2, 1)
    idle = make_user(Role.MODERATOR, online=True)
    first = db.session.query(Conversation).order_by(Conversation.id).first()  # one of P0's
    with write_transaction():  # it alone changed hands a minute ago (its profile did not)
        db.session.query(Conversation).filter_by(id=first.id).update({"last_moved_at": T0 - timedelta(minutes=1)})
    with write_transaction():
        moves = balancing.rebalance(T0 + timedelta(seconds=10)).moves
    # Counting only P0's other conversation, P0 would tie with P1 and go first (lower id), taking
    # the one that just moved with it: the whole profile stays; P1 goes.
    moved = db.session.query(Conversation).filter(Conversation.id.in_([cid for cid, _, _ in moves])).all()
    assert {c.profile.name for c in moved} == {"P1"} and len(moved) == 1
    assert {(source, target) for _, source, target in moves} == {(busy.id, idle.id)}


def test_several_profiles_move_in_one_go_and_a_stale_holder_moves_nothing(ctx):
    from app.models import ProfileAssignment, ProfileLock, QueueEntry
    from app.services import locks

    busy = busy_moderator_with(2, 1, 1)
    first, second = (make_user(Role.MODERATOR, online=True) for _ in range(2))
    held = {p.name: p.id for p in (c.profile for c in db.session.query(Conversation))}
    p0_conversation = db.session.query(Conversation).filter_by(profile_id=held["P0"]).first()
    with write_transaction():
        assert locks.start_answering(p0_conversation.id, busy.id, T0) is not None
    loads_before = {q.moderator_id: q.load for q in db.session.query(QueueEntry)}
    with write_transaction():
        moved = assignment.move_profiles([(held["P0"], busy.id, first.id), (held["P1"], busy.id, second.id),
                                          (held["P2"], first.id, second.id)],  # P2's holder is busy, not first
                                         T0 + timedelta(seconds=5), ChangeReason.BALANCE)
    db.session.expire_all()
    assert set(moved) == {held["P0"], held["P1"]} and len(moved[held["P0"]]) == 2 and len(moved[held["P1"]]) == 1
    holders = {pa.profile_id: pa.moderator_id for pa in db.session.query(ProfileAssignment)}
    assert holders == {held["P0"]: first.id, held["P1"]: second.id, held["P2"]: busy.id}
    for profile_id, conversation_ids in moved.items():  # the conversations followed, stamped and recorded
        for conversation in db.session.query(Conversation).filter(Conversation.id.in_(conversation_ids)):
            assert conversation.assigned_moderator_id == holders[profile_id]
            assert conversation.last_moved_at == T0 + timedelta(seconds=5)
    changes = db.session.query(AssignmentChange).filter_by(reason=ChangeReason.BALANCE).all()
    assert sorted((c.conversation_id, c.from_moderator_id, c.to_moderator_id) for c in changes) == sorted(
        (cid, busy.id, holders[p]) for p, cids in moved.items() for cid in cids)
    loads_after = {q.moderator_id: q.load for q in db.session.query(QueueEntry)}
    assert loads_after == {busy.id: loads_before[busy.id] - 3, first.id: loads_before[first.id] + 2,
                           second.id: loads_before[second.id] + 1}
    assert db.session.query(ProfileLock).filter_by(profile_id=held["P0"]).count() == 0  # the old holder's lock went


def test_work_handed_over_moments_ago_stays(ctx):
    busy = busy_moderator_with(1, 1, 1, 1, at=T0)   # just handed over, nobody answered yet
    idle = make_user(Role.MODERATOR, online=True)
    with write_transaction():                       # their clients' locks still run
        assert balancing.rebalance(T0 + timedelta(seconds=10)).moves == []
    with write_transaction():                       # locks over, but still no time to answer
        assert balancing.rebalance(T0 + timedelta(seconds=45)).moves == []
    with write_transaction():
        result = balancing.rebalance(T0 + timedelta(seconds=61))
    assert len(result.moves) == 2 and result.touched == {busy.id, idle.id}


def test_a_profile_whose_client_its_moderator_approaches_stays(ctx):
    from app.services import locks

    busy = busy_moderator_with(1, 1, 1, 1)
    idle = make_user(Role.MODERATOR, online=True)
    with write_transaction():                       # an approach under way with every client
        for conversation in db.session.query(Conversation):
            assert locks.lock_client(conversation.client_id, conversation.profile_id, busy.id, T0, 30) is not None
    with write_transaction():
        assert balancing.rebalance(T0 + timedelta(seconds=10)).moves == []
    with write_transaction():                       # the approaches ended (the locks expired)
        result = balancing.rebalance(T0 + timedelta(seconds=31))
    assert len(result.moves) == 2 and result.touched == {busy.id, idle.id}


def test_a_manual_move_takes_the_approach_along(ctx):
    from app.models import ClientLock

    first = make_user(Role.MODERATOR, online=True)
    client = make_user()
    with write_transaction():
        conversations = [sending.post_client_message(client, make_profile(name=n).id, "hi", token(), T0)
                         .message.conversation for n in ("P0", "P1")]
    assert {c.assigned_moderator_id for c in conversations} == {first.id}
    other = make_user(Role.MODERATOR, online=True)
    with write_transaction():  # the admin moves one of them: the client's other one goes too, and the lock
        assert assignment.reassign(conversations[0].id, other.id, T0 + timedelta(seconds=5), ChangeReason.MANUAL)
    db.session.expire_all()
    assert {db.session.get(Conversation, c.id).assigned_moderator_id for c in conversations} == {other.id}
    assert db.session.query(ClientLock).filter_by(client_id=client.id).one().moderator_id == other.id


def test_a_new_conversation_does_not_take_a_fresh_approach_away(ctx):
    """A holds P0 (one quiet conversation with X) and P1 (X's conversation, just approached). Y's
    first message to P0 goes to A: moving P0 to the less busy B would take X's fresh approach
    along."""
    from app.models import ClientLock

    a = make_user(Role.MODERATOR, online=True)
    x, y = make_user(), make_user()
    p0, p1 = make_profile(name="P0"), make_profile(name="P1")
    with write_transaction():
        quiet = sending.post_client_message(x, p0.id, "hello", token(), T0 - timedelta(hours=2)).message.conversation
    with write_transaction():
        chat.post_profile_reply(db.session.get(User, a.id), quiet.id, "hi", token(), T0 - timedelta(hours=2))
    with write_transaction():
        fresh = sending.post_client_message(x, p1.id, "me again", token(), T0).message.conversation
    assert fresh.assigned_moderator_id == a.id
    b = make_user(Role.MODERATOR, online=True)
    with write_transaction():
        new = sending.post_client_message(y, p0.id, "hello", token(), T0 + timedelta(seconds=5)).message.conversation
    db.session.expire_all()
    assert db.session.get(Conversation, new.id).assigned_moderator_id == a.id
    assert db.session.get(Conversation, fresh.id).assigned_moderator_id == a.id
    assert db.session.query(ClientLock).filter_by(client_id=x.id).one().moderator_id == a.id
    assert b.id not in {c.assigned_moderator_id for c in db.session.query(Conversation)}
