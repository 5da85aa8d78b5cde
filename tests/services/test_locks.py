"""Profile and client locks: one holder, expiry, owner-token release, fencing, cleaning."""
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.database import write_transaction
from app.extensions import db
from app.models import ClientLock, ProfileLock, Role
from app.services import locks
from tests.support.factories import make_profile, make_user
from tests.support.processes import ROOT
from tests.support.sql import recorded_statements

T0 = datetime(2026, 11, 23, 12, 0, 0)


def setup_people():
    return make_user(Role.MODERATOR), make_user(Role.MODERATOR), make_user(), make_profile(), make_profile("Léa")


def test_profile_lock_has_one_holder_until_it_expires(ctx):
    m1, m2, _, profile, _ = setup_people()
    with write_transaction():
        first = locks.lock_profile(profile.id, m1.id, T0)
    assert first is not None and first.expires_at == T0 + timedelta(seconds=500)
    with write_transaction():
        assert locks.lock_profile(profile.id, m2.id, T0 + timedelta(seconds=499)) is None
    with write_transaction():
        second = locks.lock_profile(profile.id, m2.id, T0 + timedelta(seconds=501))
    assert second is not None
    with write_transaction():
        assert locks.holds_profile(second.token, T0 + timedelta(seconds=502))
        assert not locks.holds_profile(first.token, T0 + timedelta(seconds=502))   # fenced out


def test_the_locks_in_force_come_with_their_profile_and_moderator_in_one_statement(ctx):
    """The locks panel names both for every lock; it must not cost a query per lock."""
    holders = [make_user(Role.MODERATOR, display_name=f"Mod {n}") for n in range(4)]
    profiles = [make_profile(f"Profile {n}") for n in range(4)]
    with write_transaction():
        for n, (moderator, profile) in enumerate(zip(holders, profiles)):
            assert locks.lock_profile(profile.id, moderator.id, T0 + timedelta(seconds=n)) is not None
    db.session.expunge_all()
    with recorded_statements(db.engine) as statements:
        named = [(lock.profile.name, lock.moderator.display_name)
                 for lock in locks.active_profile_locks(T0 + timedelta(seconds=10))]
    assert named == [(f"Profile {n}", f"Mod {n}") for n in range(4)]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_release_needs_the_owner_token(ctx):
    m1, m2, _, profile, _ = setup_people()
    with write_transaction():
        stale = locks.lock_profile(profile.id, m1.id, T0, seconds=10)
    with write_transaction():
        fresh = locks.lock_profile(profile.id, m2.id, T0 + timedelta(seconds=11))
    with write_transaction():
        assert locks.release_profile_lock(stale.token) is False      # the late holder cannot free it
        assert locks.holds_profile(fresh.token, T0 + timedelta(seconds=12))
    with write_transaction():
        assert locks.release_profile_lock(fresh.token) is True
    with write_transaction():
        assert locks.lock_profile(profile.id, m1.id, T0 + timedelta(seconds=13)) is not None


def test_client_lock_prevents_a_double_approach_through_another_profile(ctx):
    m1, m2, client, p1, p2 = setup_people()
    with write_transaction():
        held = locks.lock_client(client.id, p1.id, m1.id, T0)
    with write_transaction():
        assert locks.lock_client(client.id, p2.id, m2.id, T0 + timedelta(seconds=29)) is None
    with write_transaction():
        assert locks.extend_client_lock(held.token, T0 + timedelta(seconds=29)) == T0 + timedelta(seconds=59)
    with write_transaction():
        assert locks.lock_client(client.id, p2.id, m2.id, T0 + timedelta(seconds=40)) is None
        assert locks.lock_client(client.id, p2.id, m2.id, T0 + timedelta(seconds=60)) is not None
    with write_transaction():
        assert locks.extend_client_lock(held.token, T0 + timedelta(seconds=61)) is None


def test_clean_expired_removes_only_expired_locks(ctx):
    m1, _, client, p1, p2 = setup_people()
    with write_transaction():
        locks.lock_profile(p1.id, m1.id, T0, seconds=500)
        locks.lock_profile(p2.id, m1.id, T0, seconds=5)
        locks.lock_client(client.id, p1.id, m1.id, T0, seconds=30)
    with write_transaction():
        assert locks.clean_expired(T0 + timedelta(seconds=31)) == 2
    assert db.session.scalar(select(func.count()).select_from(ProfileLock)) == 1
    assert db.session.scalar(select(func.count()).select_from(ClientLock)) == 0
    assert [lock.profile_id for lock in locks.active_profile_locks(T0 + timedelta(seconds=31))] == [p1.id]


RACER = r"""
import json, sys, time
from datetime import datetime, timedelta
from app import create_app
from app.config import TestConfig
from app.database import write_transaction
from app.services import locks
app = create_app(TestConfig)
start_at, moderator_id, profile_id, client_ids = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
won = []
now = datetime(2026, 11, 23, 12, 0)
with app.app_context():
    time.sleep(max(0, start_at - time.time()))
    for client_id in client_ids:
        with write_transaction():
            if locks.lock_client(client_id, profile_id, moderator_id, now) is not None:
                won.append(client_id)
print(json.dumps(won))
"""


@pytest.mark.slow
def test_racing_processes_take_each_client_lock_once(ctx):
    """Four moderators' processes try, at the same instant, to approach the same 60 clients,
    each through their own profile: every client is locked by exactly one of them."""
    moderators = [make_user(Role.MODERATOR) for _ in range(4)]
    clients = [make_user().id for _ in range(60)]
    profiles = [make_profile(f"P{i}") for i in range(4)]
    start_at = time.time() + 4
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(start_at), str(m.id), str(profiles[i].id),
                                json.dumps(clients)],
                               cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for i, m in enumerate(moderators)]
    wins = []
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err[-2000:]
        wins.extend(json.loads(out.strip().splitlines()[-1]))
    assert sorted(wins) == sorted(clients)
    db.session.rollback()  # end the read snapshot: the racers wrote since
    assert db.session.scalar(select(func.count()).select_from(ClientLock)) == 60
