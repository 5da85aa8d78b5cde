"""Load balancing with a controllable clock: spread ≥ 2 is evened out; a conversation moved
in the last 5 minutes never moves again."""
from datetime import datetime, timedelta

from app.database import write_transaction
from app.extensions import db
from app.models import AssignmentChange, ChangeReason, Conversation, Role
from app.services import assignment, balancing, chat
from tests.support import make_profile, make_user, token

T0 = datetime(2026, 11, 23, 12, 0, 0)


def busy_moderator_with(n: int):
    """One online moderator holding n waiting conversations (nobody else online meanwhile)."""
    moderator = make_user(Role.MODERATOR, online=True)
    profile = make_profile()
    for _ in range(n):
        with write_transaction():
            chat.post_client_message(make_user(), profile.id, "hello", token(), T0)
    return moderator


def test_spread_of_two_or_more_is_evened_out(ctx):
    busy = busy_moderator_with(4)
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


def test_anti_ping_pong_keeps_recently_moved_conversations_in_place(ctx):
    busy = busy_moderator_with(2)
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
