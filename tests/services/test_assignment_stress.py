"""Stress, with real OS processes: in every round 20 moderators connect at the same instant while
200 clients each write to two profiles at once; 6 processes share the work and are released
together. After every round: no conversation was ever claimed twice, no profile has two
moderators, no client was approached by two moderators at once, and every waiting conversation
gets a moderator once the approach window ends. 6 rounds on PostgreSQL (the multi-process
database); 1 on SQLite (the same races, the write lock takes turns) to keep the suite short;
STRESS_ROUNDS runs more.
"""
import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from app.database import write_transaction
from app.extensions import db
from app.models import AssignmentChange, ChangeReason, ClientLock, Conversation, ProfileAssignment, Role, User
from app.redis_client import get_redis, names
from app.services import assignment, moderator_queue
from tests.support.factories import make_profile, make_user
from tests.support.processes import ROOT

pytestmark = pytest.mark.slow

PROCESSES, MODERATORS, CLIENTS, PROFILES = 6, 20, 200, 40
T0 = datetime(2026, 12, 1, 20, 0, 0)
ROUND_GAP = timedelta(minutes=2)   # simulated time between rounds: every client lock has expired

WORKER = r"""
import json, sys, time, uuid
from datetime import datetime
from app import create_app
from app.config import TestConfig
from app.database import write_transaction
from app.extensions import db
from app.models import User
from app.redis_client import get_redis, names
from app.services import pages, sending
app = create_app(TestConfig)
plan = json.loads(sys.stdin.read())
with app.app_context():
    r = get_redis()
    for round_ in plan:
        now = datetime.fromisoformat(round_["now"])
        while (start_at := r.get(names().key("stress", "go", round_['index']))) is None:  # the parent's go
            time.sleep(0.005)
        time.sleep(max(0, float(start_at) - time.time()))   # then all start at the same instant
        for kind, a, b in round_["actions"]:
            if kind == "connect":          # what the socket handler does when a page connects
                pages.opened(r, a, uuid.uuid4().hex, now)
            else:                           # a client posts to a profile, as the send route does
                sending.send_client_message(a, b, "hello", uuid.uuid4().hex, now)
        r.incr(names().key("stress", "done", round_['index']))
        db.session.remove()
"""


def _rounds() -> int:
    if os.environ.get("STRESS_ROUNDS"):
        return int(os.environ["STRESS_ROUNDS"])
    return 6 if db.engine.dialect.name == "postgresql" else 1


def test_moderators_connecting_while_clients_write_never_double_assign(ctx):
    rng = random.Random(20261201)
    moderators = [make_user(Role.MODERATOR) for _ in range(MODERATORS)]
    clients = [make_user() for _ in range(CLIENTS)]
    profiles = [make_profile(name=f"P{i}") for i in range(PROFILES)]
    r = get_redis()
    rounds, plans = _rounds(), [[] for _ in range(PROCESSES)]
    for index in range(rounds):
        actions = [("connect", m.id, None) for m in moderators]
        for client in clients:  # each client writes to two profiles at the same instant
            first, second = rng.sample(profiles, 2)
            actions += [("post", client.id, first.id), ("post", client.id, second.id)]
        rng.shuffle(actions)
        now = (T0 + index * ROUND_GAP).isoformat()
        for p in range(PROCESSES):
            plans[p].append({"index": index, "now": now, "actions": actions[p::PROCESSES]})
    db.session.remove()
    # A page connecting hands waiting work out at once here: the arrival gather (a pause for pages
    # connecting together, tested in test_assignment_race) would only stretch the rounds.
    env = dict(os.environ, ARRIVAL_GATHER_SECONDS="0")
    workers = [subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(PROCESSES)]
    for worker, plan in zip(workers, plans):
        worker.stdin.write(json.dumps(plan))
        worker.stdin.close()
    hands, seen = {}, [0]
    try:
        for index in range(rounds):
            r.set(names().key("stress", "go", index), time.time() + (8 if index == 0 else 0.3))  # round 0: imports
            deadline = time.time() + 120
            while int(r.get(names().key("stress", "done", index)) or 0) < PROCESSES:
                crashed = [w for w in workers if w.poll() not in (None, 0)]
                assert not crashed, crashed[0].stderr.read()[-3000:]
                assert time.time() < deadline, f"round {index} did not finish"
                time.sleep(0.05)
            took = time.time() - float(r.get(names().key("stress", "go", index)))
            checked = time.time()
            _check_round(index, moderators, hands, seen)
            print(f"round {index}: {took:.2f} s of races, {time.time() - checked:.2f} s of checks")
    finally:
        for worker in workers:
            worker.wait(timeout=60)
    assert all(w.returncode == 0 for w in workers), [w.stderr.read()[-3000:] for w in workers]


def _check_round(index: int, moderators, hands: dict, seen: list) -> None:
    now = T0 + index * ROUND_GAP
    db.session.remove()
    # 1. No conversation was claimed twice: each one's history is one unbroken chain of hands
    #    (``hands``: the last hand of each conversation, carried from round to round).
    for change in db.session.scalars(select(AssignmentChange).where(AssignmentChange.id > seen[0])
                                     .order_by(AssignmentChange.id)):
        assert change.from_moderator_id == hands.get(change.conversation_id), \
            f"round {index}: conversation {change.conversation_id} claimed twice"
        hands[change.conversation_id] = change.to_moderator_id
        seen[0] = change.id
    holders = dict(db.session.execute(select(Conversation.id, Conversation.assigned_moderator_id)).all())
    assert all(hands.get(cid) == holder for cid, holder in holders.items())
    # 2. A profile has one moderator, and every held conversation names its profile's holder.
    pairs = db.session.execute(select(Conversation.profile_id, Conversation.assigned_moderator_id)
                               .where(Conversation.assigned_moderator_id.is_not(None)).distinct()).all()
    assert len(pairs) == len({profile for profile, _ in pairs}), f"round {index}: a profile has two moderators"
    held = dict(db.session.execute(select(ProfileAssignment.profile_id, ProfileAssignment.moderator_id)).all())
    assert all(held[profile] == moderator for profile, moderator in pairs)
    # 3. No double approach: this round's first assignments of a client's conversations all
    #    went to one moderator (the client lock outlives the round's instant).
    firsts = defaultdict(set)
    for client_id, to in db.session.execute(
            select(Conversation.client_id, AssignmentChange.to_moderator_id)
            .join(Conversation, Conversation.id == AssignmentChange.conversation_id)
            .where(AssignmentChange.from_moderator_id.is_(None), AssignmentChange.to_moderator_id.is_not(None),
                   AssignmentChange.changed_at == now)):
        firsts[client_id].add(to)
    doubles = {c: m for c, m in firsts.items() if len(m) > 1}
    assert not doubles, f"round {index}: clients approached by two moderators: {doubles}"
    # 4. Every waiting conversation gets a moderator once the approach window is over.
    later = now + timedelta(seconds=31)
    with write_transaction():
        assignment.assign_orphans(later, limit=1000)
    for change in db.session.scalars(select(AssignmentChange).where(AssignmentChange.id > seen[0])
                                     .order_by(AssignmentChange.id)):
        assert change.from_moderator_id == hands.get(change.conversation_id)
        hands[change.conversation_id], seen[0] = change.to_moderator_id, change.id
    assert db.session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.awaiting_reply_since.is_not(None), Conversation.assigned_moderator_id.is_(None))) == 0
    assert db.session.scalar(select(func.count()).select_from(Conversation)) > 0
    # The floor goes quiet before the next round: everything answered (in SQL: the replies are
    # not under test here), approaches over, moderators gone.
    with write_transaction():
        db.session.execute(update(Conversation).where(Conversation.awaiting_reply_since.is_not(None))
                           .values(awaiting_reply_since=None, pending_count=0))
        db.session.execute(delete(ClientLock))
    r = get_redis()
    with write_transaction():
        for moderator in moderators:
            r.delete(names().sockets(moderator.id))
            db.session.get(User, moderator.id).is_online = False
            moderator_queue.leave(moderator.id)
    assert db.session.scalar(select(func.count()).select_from(AssignmentChange)
                             .where(AssignmentChange.reason == ChangeReason.NEW)) > 0
