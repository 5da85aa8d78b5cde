"""Presence follows open sockets, across processes, and survives a process that died."""
from datetime import datetime, timedelta

from app.database import write_transaction
from app.extensions import db
from app.models import Role
from app.redis_client import get_redis
from app.services import presence
from tests.support import make_user

NOW = datetime(2026, 11, 23, 12, 0, 0)


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
        assert presence.socket_closed(r, moderator, "tab-2", NOW) is True
    assert not moderator.is_online


def test_sockets_of_a_dead_process_stop_counting(ctx):
    r = get_redis()
    moderator = make_user(Role.MODERATOR)
    with write_transaction():
        presence.socket_opened(r, moderator, "held-by-a-crashed-process", NOW)
    later = NOW + timedelta(seconds=presence.STALE_SECONDS + 1)
    with write_transaction():
        assert presence.sweep_stale(r, NOW) == []
    with write_transaction():
        assert presence.sweep_stale(r, later) == [moderator.id]
    db.session.refresh(moderator)
    assert moderator.is_online is False
