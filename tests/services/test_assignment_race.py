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
