"""Several OS processes assign the same waiting conversations at the same instant: each
conversation is won exactly once (compare-and-set), on SQLite and on PostgreSQL alike."""
import json
from collections import Counter
import os
import subprocess
import sys
import time
from datetime import datetime

import pytest
from sqlalchemy import select

from app.database import write_transaction
from app.extensions import db
from app.models import AssignmentChange, Conversation, Role
from app.services import moderator_queue, sending
from tests.support.factories import make_profile, make_user, token
from tests.support.processes import ROOT

pytestmark = pytest.mark.slow

RACER = r"""
import json, sys, time
from app import create_app
from app.config import TestConfig
from app.database import write_transaction
from app.clock import utcnow
from app.services import assignment
app = create_app(TestConfig)
start_at, ids = float(sys.argv[1]), json.loads(sys.argv[2])
with app.app_context():
    time.sleep(max(0, start_at - time.time()))
    won = {}
    for conversation_id in ids:          # one decision per transaction, like separate requests
        with write_transaction():
            moderator_id = assignment.assign_if_unassigned(conversation_id, utcnow())
        if moderator_id is not None:
            won[conversation_id] = moderator_id
    print(json.dumps(won))
"""


def test_racing_processes_never_assign_a_conversation_twice(ctx):
    profiles = [make_profile(name=f"P{i}") for i in range(6)]
    clients = [make_user() for _ in range(60)]
    for i, client in enumerate(clients):  # nobody online: all 60 wait as orphans, 10 per profile
        sending.send_client_message(client.id, profiles[i % 6].id, "hello", token(), datetime(2026, 11, 23, 12, 0))
    moderators = [make_user(Role.MODERATOR) for _ in range(3)]
    with write_transaction():
        for moderator in moderators:
            db.session.merge(moderator).is_online = True
            moderator_queue.join(moderator.id, datetime(2026, 11, 23, 12, 0))

    orphan_ids = list(db.session.scalars(select(Conversation.id).order_by(Conversation.id)))
    db.session.rollback()
    start_at = time.time() + 4
    # Every process walks all 60, each from its own starting point: different conversations are
    # decided at the same instant (load reads race), and the same ones collide later (claims race).
    orders = [orphan_ids[i * 15:] + orphan_ids[:i * 15] for i in range(4)]
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(start_at), json.dumps(order)], cwd=ROOT,
                               env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for order in orders]
    results = []
    for racer in racers:
        out, err = racer.communicate(timeout=60)
        assert racer.returncode == 0, err[-2000:]
        results.append({int(k): v for k, v in json.loads(out.strip().splitlines()[-1]).items()})

    won = [cid for result in results for cid in result]
    assert len(won) == len(set(won)) == 60, "a conversation was claimed twice or not at all"
    db.session.rollback()  # end the read snapshot: the racers wrote since
    stored = dict(db.session.execute(select(Conversation.id, Conversation.assigned_moderator_id)).all())
    merged = {cid: mid for result in results for cid, mid in result.items()}
    assert stored == merged
    assert set(stored.values()) <= {m.id for m in moderators}
    # A profile has one moderator: each profile's 10 conversations went to the same one.
    pairs = db.session.execute(select(Conversation.profile_id, Conversation.assigned_moderator_id).distinct()).all()
    assert len(pairs) == len({profile for profile, _ in pairs}) == 6
    # Least-loaded picks take turns: replayed in the order they were made (the history's ids), each
    # profile went to a moderator with the fewest conversations at that moment. (How evenly the
    # profiles end up spread depends on how many claims of a held profile land between two picks.)
    profile_of = dict(db.session.execute(select(Conversation.id, Conversation.profile_id)).all())
    loads, taken = Counter({m.id: 0 for m in moderators}), set()
    for conversation_id, moderator_id in db.session.execute(
            select(AssignmentChange.conversation_id, AssignmentChange.to_moderator_id).order_by(AssignmentChange.id)):
        if profile_of[conversation_id] not in taken:
            taken.add(profile_of[conversation_id])
            assert loads[moderator_id] == min(loads.values()), (conversation_id, moderator_id, dict(loads))
        loads[moderator_id] += 1
    assert len(taken) == 6 and sum(loads.values()) == 60
    assert loads == Counter(stored.values())


POSTER = r"""
import json, sys, time
from tests.support.factories import token
from tests.support.http import LiveSession, login
base, start_at, gap, plan = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
clients = []
for email, profile_ids in plan:                  # logged in over HTTP before the start
    session = LiveSession(base)
    clients.append((session, login(session, email), profile_ids))
for i, (session, csrf, profile_ids) in enumerate(clients):
    time.sleep(max(0, start_at + i * gap - time.time()))
    for profile_id in profile_ids:               # two tabs: both messages in the same instant
        response = session.post(f"/profiles/{profile_id}/messages", data={"body": "hello", "client_token": token()},
                                headers={"X-CSRFToken": csrf, "HX-Request": "true"})
        assert response.status_code == 200, response.text[-500:]
print("posted")
"""

MOVER = r"""
import json, sys, time
from app import create_app
from app.config import TestConfig
from app.clock import utcnow
from app.database import write_transaction
from app.services import balancing, inactivity
app = create_app(TestConfig)
which, start_at, stop_at = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
with app.app_context():
    time.sleep(max(0, start_at - time.time()))
    moved, passes = 0, 0
    while time.time() < stop_at or passes < 5:   # the periodic pass, again and again, as the worker runs it
        passes += 1
        with write_transaction():
            if which == "inactivity":
                moved += sum(len(v) for v in inactivity.reassign_from_idle_moderators(utcnow(), 60).taken.values())
            else:
                moved += len(balancing.rebalance(utcnow(), 2, 300).moves)
        time.sleep(0.1)
print(json.dumps({"moved": moved, "passes": passes, "late_by": round(time.time() - stop_at, 2)}))
"""

IDLE_HOLDERS, ACTIVE, PER_HOLDER, CLIENTS, POSTERS = 4, 2, 3, 24, 4


def test_moves_racing_with_new_conversations_never_split_an_approached_client(ctx, app):
    """Clients write to two profiles at once over HTTP (a real server, several processes) while an
    inactivity pass and a balancing pass run again and again in two other processes. Every
    profile is held by an idle moderator with an old waiting conversation, so both passes move
    profiles while new conversations arrive on them. While a client's lock runs (from its first
    assignment), its conversations are never held by two moderators at once."""
    from datetime import timedelta

    from sqlalchemy import func

    from app.clock import utcnow
    from app.models import ChangeReason, User
    from app.services import assignment
    from tests.support.processes import WebServer

    long_ago = utcnow() - timedelta(minutes=10)
    profiles = [make_profile(name=f"P{i}") for i in range(IDLE_HOLDERS * PER_HOLDER)]
    idle = [make_user(Role.MODERATOR) for _ in range(IDLE_HOLDERS)]
    active = [make_user(Role.MODERATOR) for _ in range(ACTIVE)]
    for profile in profiles:  # nobody online: each waits, then goes to its idle holder by hand, long ago
        sending.send_client_message(make_user().id, profile.id, "still there?", token(), long_ago)
    with write_transaction():
        for k, (conversation_id,) in enumerate(db.session.execute(select(Conversation.id).order_by(Conversation.id))):
            assert assignment.reassign(conversation_id, idle[k // PER_HOLDER].id, long_ago, ChangeReason.MANUAL)
    with write_transaction():
        now = utcnow()
        for moderator in idle + active:
            user = db.session.get(User, moderator.id)
            user.is_online, user.last_online_at = True, long_ago
            user.last_activity_at = long_ago if moderator in idle else now
            moderator_queue.join(moderator.id, now)
    clients = [make_user() for _ in range(CLIENTS)]
    # Each client writes to two profiles of the same idle holder: both go to that holder (it
    # holds them, with other waiting work), under one client lock.
    wants = {}
    for i, client in enumerate(clients):
        first = (i % IDLE_HOLDERS) * PER_HOLDER + (i // IDLE_HOLDERS) % (PER_HOLDER - 1)
        wants[client.id] = [profiles[first].id, profiles[first + 1].id]
    db.session.remove()

    server = WebServer(workers=2).start()
    try:
        start_at = time.time() + 6  # logins and imports first
        gap = 0.1
        posters = [subprocess.Popen(
            [sys.executable, "-c", POSTER, server.url, str(start_at), str(gap),
             json.dumps([(c.email, wants[c.id]) for c in clients[p::POSTERS]])],
            cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for p in range(POSTERS)]
        stop_at = start_at + 0.4 + gap * CLIENTS / POSTERS + 1.5
        movers = [subprocess.Popen([sys.executable, "-c", MOVER, which, str(start_at + 0.4), str(stop_at)], cwd=ROOT,
                                   env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                  for which in ("inactivity", "balancing")]
        outputs = []
        for proc in posters + movers:
            out, err = proc.communicate(timeout=90)
            assert proc.returncode == 0, err[-3000:]
            outputs.append(out.strip().splitlines()[-1])
    finally:
        server.stop()

    db.session.rollback()
    lock_seconds = app.config["CLIENT_LOCK_SECONDS"]
    client_of = dict(db.session.execute(select(Conversation.id, Conversation.client_id)).all())
    new_clients = {c.id for c in clients}
    assert len([cid for cid, client in client_of.items() if client in new_clients]) == 2 * CLIENTS
    # The passes did move work while the conversations arrived (else this test proves nothing).
    moved_by = dict(db.session.execute(select(AssignmentChange.reason, func.count()).group_by(AssignmentChange.reason)
                                       .where(AssignmentChange.reason.in_([ChangeReason.INACTIVITY,
                                                                           ChangeReason.BALANCE]))).all())
    assert sum(moved_by.values()) > 0, (moved_by, outputs)
    # Replay every change of hands in order, a transaction at a time (its changes share their
    # instant): from a client's first assignment and for the length of its lock, its held
    # conversations have one moderator after every transaction.
    changes = [change for change in db.session.scalars(select(AssignmentChange).order_by(AssignmentChange.id))
               if client_of[change.conversation_id] in new_clients]
    holders, approached_at, splits = {}, {}, []
    for i, change in enumerate(changes):
        client = client_of[change.conversation_id]
        holders[change.conversation_id] = change.to_moderator_id
        if change.from_moderator_id is None and change.to_moderator_id is not None:
            approached_at.setdefault(client, change.changed_at)
        if i + 1 < len(changes) and changes[i + 1].changed_at == change.changed_at:
            continue  # the same transaction goes on
        for client, since in approached_at.items():
            if since <= change.changed_at < since + timedelta(seconds=lock_seconds):
                held = {holders[cid] for cid, c in client_of.items() if c == client and holders.get(cid) is not None}
                if len(held) > 1:
                    splits.append((client, change.reason.value, round((change.changed_at - since).total_seconds(), 1),
                                   sorted(held)))
    assert not splits, f"{len(splits)} splits (client, move, seconds after the approach, moderators): {splits}"


ARRIVER = r"""
import sys, time, uuid
from app import create_app
from app.config import TestConfig
from app.clock import utcnow
from app.redis_client import get_redis
from app.services import pages
app = create_app(TestConfig)
moderator_id = int(sys.argv[1])
with app.app_context():
    r = get_redis()
    print("ready", flush=True)
    start_at = float(sys.stdin.readline())  # given once every process is ready
    time.sleep(max(0, start_at - time.time()))
    pages.opened(r, moderator_id, uuid.uuid4().hex, utcnow())   # what the socket handler does
print("online")
"""


def test_moderators_coming_online_together_share_the_waiting_work(ctx):
    """48 conversations wait over 8 profiles while nobody is online; 8 moderators' pages connect
    at the same instant, each in its own process. The waiting work spreads over them (it went
    all to the first to connect when the hand-out ran in the transaction that joined the queue)."""
    from collections import Counter

    from app.clock import utcnow

    profiles = [make_profile(name=f"P{i}") for i in range(8)]
    for i in range(48):
        sending.send_client_message(make_user().id, profiles[i % 8].id, "hello", token(), utcnow())
    moderators = [make_user(Role.MODERATOR) for _ in range(8)]
    db.session.remove()
    # A gather window wide enough for eight processes on a loaded machine to join the queue.
    env = dict(os.environ, ARRIVAL_GATHER_SECONDS="2")
    arrivers = [subprocess.Popen([sys.executable, "-c", ARRIVER, str(m.id)], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for m in moderators]
    for arriver in arrivers:  # every process started (imports on a loaded machine take seconds)...
        assert arriver.stdout.readline().strip() == "ready", arriver.communicate(timeout=60)[1][-2000:]
    start_at = time.time() + 0.5  # ...then they connect at the same instant
    for arriver in arrivers:
        arriver.stdin.write(f"{start_at}\n")
        arriver.stdin.flush()
    for arriver in arrivers:
        out, err = arriver.communicate(timeout=60)
        assert arriver.returncode == 0, err[-2000:]
    held = Counter(db.session.scalars(select(Conversation.assigned_moderator_id)))
    assert None not in held and sum(held.values()) == 48
    assert len(held) >= 4, held
