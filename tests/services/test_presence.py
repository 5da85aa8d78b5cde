"""Presence follows open sockets, across processes, and survives a process that died."""
from datetime import datetime, timedelta

from app.database import write_transaction
from app.extensions import db
from app.models import Role
from app.redis_client import get_redis
from app.services import presence, moderator_queue
from tests.support.factories import make_user

NOW = datetime(2026, 11, 23, 12, 0, 0)
GRACE = timedelta(seconds=10)


def test_online_while_any_socket_is_open(ctx):
    r = get_redis()
    moderator = make_user(Role.MODERATOR)
    with write_transaction():
        assert presence.socket_opened(r, moderator, "tab-1", NOW) is True
        assert presence.socket_opened(r, moderator, "tab-2", NOW) is False
    assert moderator.is_online and moderator.last_online_at == NOW
    with write_transaction():
        assert presence.socket_closed(r, moderator, "tab-1", NOW) is False
    assert moderator.is_online
    with write_transaction():
        assert presence.socket_closed(r, moderator, "tab-2", NOW) is True     # the last one: a check is due
    assert moderator.is_online                                                # not before the grace
    with write_transaction():
        assert presence.confirm_offline(r, moderator.id, NOW, NOW + GRACE) is True
    db.session.refresh(moderator)
    assert not moderator.is_online


def test_a_count_from_a_process_whose_clock_is_ahead_forgets_no_socket(ctx):
    """A job run late (``notify_work_if_away``) counts a moderator's sockets at its own time: the
    sockets stay for the page that holds them."""
    r = get_redis()
    moderator = make_user(Role.MODERATOR)
    with write_transaction():
        presence.socket_opened(r, moderator, "tab-1", NOW)
        presence.socket_opened(r, moderator, "tab-2", NOW)
    assert presence.live_socket_count(r, moderator.id, NOW + timedelta(days=14)) == 0
    assert presence.live_socket_count(r, moderator.id, NOW) == 2
    with write_transaction():
        assert presence.socket_closed(r, moderator, "tab-1", NOW) is False


def test_sockets_of_a_dead_process_stop_counting(ctx):
    r = get_redis()
    moderator = make_user(Role.MODERATOR)
    with write_transaction():
        presence.socket_opened(r, moderator, "held-by-a-crashed-process", NOW)
    later = NOW + timedelta(seconds=ctx.config["PRESENCE_STALE_SECONDS"] + 1)
    with write_transaction():
        assert presence.sweep_stale(r, NOW) == []
    with write_transaction():
        assert presence.sweep_stale(r, later) == [moderator.id]
    db.session.refresh(moderator)
    assert moderator.is_online is False


def _online(user) -> bool:
    db.session.refresh(user)
    return user.is_online


def test_a_reload_within_the_grace_keeps_the_moderator_online_and_in_the_queue(ctx):
    r = get_redis()
    moderator = make_user(Role.MODERATOR)
    with write_transaction():
        presence.socket_opened(r, moderator, "old-page", NOW)
    with write_transaction():
        assert presence.socket_closed(r, moderator, "old-page", NOW + timedelta(seconds=1)) is True
    with write_transaction():                                  # the reloaded page's socket
        assert presence.socket_opened(r, moderator, "new-page", NOW + timedelta(seconds=2)) is False
    with write_transaction():
        assert presence.confirm_offline(r, moderator.id, NOW + timedelta(seconds=1), NOW + GRACE) is False
    assert _online(moderator)
    assert moderator_queue.queued_moderator_ids() == [moderator.id]
    assert moderator.last_online_at == NOW                     # no flap: still online since the first page


def test_closing_for_good_goes_offline_after_the_grace_and_leaves_the_queue(ctx):
    r = get_redis()
    moderator = make_user(Role.MODERATOR)
    with write_transaction():
        presence.socket_opened(r, moderator, "page", NOW)
        presence.socket_closed(r, moderator, "page", NOW)
    with write_transaction():
        assert presence.confirm_offline(r, moderator.id, NOW, NOW + GRACE) is True
    with write_transaction():
        assert presence.confirm_offline(r, moderator.id, NOW, NOW + GRACE) is False   # a second check: no-op
    assert not _online(moderator)
    assert moderator_queue.queued_moderator_ids() == []


def test_a_socket_opened_after_the_check_read_nothing_is_put_back_online(ctx):
    """The check marks offline first, then looks at the sockets again: one that opened in between
    (its own transaction saw the user still online and changed nothing) puts the user back."""
    r = get_redis()
    moderator = make_user(Role.MODERATOR, online=True)
    presence.socket_alive(r, moderator.id, "opened-meanwhile", NOW + GRACE)
    with write_transaction():
        assert presence.confirm_offline(r, moderator.id, NOW, NOW + GRACE) is False
    assert _online(moderator)


def test_heartbeat_brings_an_offline_moderator_online_and_outlives_a_closed_socket(ctx):
    r = get_redis()
    moderator = make_user(Role.MODERATOR)
    with write_transaction():
        assert presence.heartbeat(moderator, NOW) is True
        assert presence.heartbeat(moderator, NOW + timedelta(minutes=2)) is False
    assert _online(moderator) and moderator.last_online_at == NOW
    assert moderator.last_heartbeat_at == NOW + timedelta(minutes=2)
    assert moderator_queue.queued_moderator_ids() == [moderator.id]
    # The socket drops; the page says it is still here (a heartbeat after the close): it stays online.
    closed_at = NOW + timedelta(minutes=3)
    with write_transaction():
        presence.heartbeat(moderator, closed_at + timedelta(seconds=1))
    with write_transaction():
        assert presence.confirm_offline(r, moderator.id, closed_at, closed_at + GRACE) is False
    assert _online(moderator)
    # Its goodbye beacon later, with no heartbeat after it: offline once the grace is over.
    left_at = closed_at + timedelta(minutes=1)
    with write_transaction():
        assert presence.confirm_offline(r, moderator.id, left_at, left_at + GRACE) is True
    assert not _online(moderator)


def test_the_sweep_spares_a_page_that_heartbeats_without_a_socket(ctx):
    r = get_redis()
    moderator = make_user(Role.MODERATOR)
    with write_transaction():
        presence.heartbeat(moderator, NOW)
    with write_transaction():
        assert presence.sweep_stale(r, NOW + timedelta(minutes=4), timedelta(minutes=5)) == []
    with write_transaction():
        assert presence.sweep_stale(r, NOW + timedelta(minutes=6), timedelta(minutes=5)) == [moderator.id]


def test_five_minutes_without_any_sign_is_offline(ctx):
    r = get_redis()
    idle = make_user(Role.MODERATOR, online=True)
    typing = make_user(Role.MODERATOR, online=True)
    beating = make_user(Role.MODERATOR, online=True)
    with_socket = make_user(Role.MODERATOR, online=True)
    with write_transaction():
        for user in (idle, typing, beating, with_socket):
            user.last_online_at = NOW                                      # came online 5.5 minutes before
        typing.last_activity_at = NOW + timedelta(minutes=3)
        beating.last_heartbeat_at = NOW + timedelta(minutes=4)
    later = NOW + timedelta(minutes=5, seconds=30)
    presence.socket_alive(r, with_socket.id, "tab", later - timedelta(seconds=20))
    with write_transaction():
        assert presence.mark_idle_moderators_offline(r, later, 300) == [idle.id]
    assert [_online(u) for u in (idle, typing, beating, with_socket)] == [False, True, True, True]
    assert idle.id not in moderator_queue.queued_moderator_ids()
