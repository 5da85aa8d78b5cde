"""The desk beside the chat as plain functions: who reads and writes it, the versions kept, the
version check that refuses a save started from an older version."""
from datetime import datetime, timedelta

import pytest

from app.database import write_transaction
from app.extensions import db
from app.models import ChangeReason, ClientNoteVersion, Profile, ProfileFactVersion, Role
from app.services import assignment, desk_notes, sending
from app.services.errors import Forbidden, NotFound, ValidationError
from tests.support.factories import count, make_profile, make_user, token

NOW = datetime(2026, 12, 8, 12, 0, 0)
MINUTE = timedelta(minutes=1)


def held_conversation(profile=None, client=None):
    moderator = make_user(Role.MODERATOR, online=True)
    client = client or make_user()
    profile = profile or make_profile()
    posted = sending.send_client_message(client.id, profile.id, "bonjour", token(), NOW)
    return moderator, client, posted.message.conversation_id


def save_note(moderator, conversation_id, text, version, now=NOW, max_length=200):
    with write_transaction():
        return desk_notes.save_client_note(moderator, conversation_id, text, version, now, max_length=max_length,
                                           history=3)


def save_facts(moderator, conversation_id, text, version, now=NOW):
    with write_transaction():
        return desk_notes.save_facts_as_holder(moderator, conversation_id, text, version, now, max_length=200,
                                               history=3)


def test_notes_on_a_client_are_kept_for_the_next_holder_of_the_profile(ctx):
    first, client, conversation_id = held_conversation()
    save_note(first, conversation_id, "Has a dog called Rex.", "0")
    save_note(first, conversation_id, "Has a dog called Rex. Works nights.", "1", NOW + MINUTE)
    second = make_user(Role.MODERATOR, online=True)
    with write_transaction():
        assert assignment.reassign(conversation_id, second.id, NOW + 2 * MINUTE, ChangeReason.BALANCE)

    desk = desk_notes.desk_for_moderator(second, conversation_id, history=3)
    assert desk.note.text == "Has a dog called Rex. Works nights." and desk.note.version == 2
    assert [(v.version, v.author_id) for v in desk.note.versions] == [(2, first.id), (1, first.id)]
    with pytest.raises(Forbidden):  # the former holder no longer sees it
        desk_notes.desk_for_moderator(first, conversation_id, history=3)


def test_notes_belong_to_one_client_and_one_profile(ctx):
    moderator, client, conversation_id = held_conversation()
    save_note(moderator, conversation_id, "Likes jazz.", "0")
    profile_id = desk_notes.desk_for_moderator(moderator, conversation_id, history=3).conversation.profile_id
    assert desk_notes.desk_for_moderator(moderator, conversation_id, history=3).note.text == "Likes jazz."
    _, _, same_profile_other_client = held_conversation(profile=db.session.get(Profile, profile_id))
    _, _, same_client_other_profile = held_conversation(client=client)
    for other in (same_profile_other_client, same_client_other_profile):
        holder = make_user(Role.MODERATOR, online=True)
        with write_transaction():
            assert assignment.reassign(other, holder.id, NOW, ChangeReason.MANUAL)
        assert desk_notes.desk_for_moderator(holder, other, history=3).note.text == ""


def test_a_save_from_an_older_version_is_refused_with_the_current_text(ctx):
    moderator, _, conversation_id = held_conversation()
    save_facts(moderator, conversation_id, "I am a nurse in Lyon.", "0")
    with pytest.raises(desk_notes.StaleVersion) as refused:
        save_facts(moderator, conversation_id, "I am a teacher.", "0")
    assert refused.value.status_code == 409 and refused.value.which == "facts"
    assert refused.value.current.text == "I am a nurse in Lyon."
    assert count(ProfileFactVersion) == 1
    with pytest.raises(desk_notes.StaleVersion):  # a version from the future is no better
        save_facts(moderator, conversation_id, "I am a teacher.", "7")
    save_facts(moderator, conversation_id, "I am a nurse in Lyon. I have a cat.", "1")
    assert count(ProfileFactVersion) == 2


def test_the_fact_sheet_is_shared_between_the_admin_and_the_holder(ctx):
    moderator, _, conversation_id = held_conversation()
    admin = make_user(Role.ADMIN)
    profile_id = desk_notes.desk_for_moderator(moderator, conversation_id, history=3).conversation.profile_id
    with write_transaction():
        desk_notes.save_facts_as_admin(admin, profile_id, "Born in Nantes.", "0", NOW, max_length=200)
    assert desk_notes.desk_for_moderator(moderator, conversation_id, history=3).facts.text == "Born in Nantes."
    with pytest.raises(desk_notes.StaleVersion):
        save_facts(moderator, conversation_id, "Born in Paris.", "0")
    for i in range(5):
        save_facts(moderator, conversation_id, f"Born in Nantes ({i}).", str(i + 1), NOW + i * MINUTE)
    assert len(desk_notes.desk_for_moderator(moderator, conversation_id, history=3).facts.versions) == 3
    _, every = desk_notes.facts_for_admin(admin, profile_id)
    assert [v.version for v in every.versions] == [6, 5, 4, 3, 2, 1]
    assert every.versions[-1].author_id == admin.id


def test_who_may_not_read_or_write_the_desk(ctx):
    moderator, client, conversation_id = held_conversation()
    stranger = make_user(Role.MODERATOR)
    with pytest.raises(Forbidden):
        save_note(stranger, conversation_id, "mine now", "0")
    with pytest.raises(Forbidden):
        desk_notes.desk_for_moderator(stranger, conversation_id, history=3)
    with pytest.raises(NotFound):
        desk_notes.desk_for_moderator(moderator, 999999, history=3)
    with pytest.raises(Forbidden):  # only admins write a fact sheet by its profile
        desk_notes.facts_for_admin(moderator, make_profile().id)
    with pytest.raises(NotFound):
        desk_notes.facts_for_admin(make_user(Role.ADMIN), 999999)
    assert count(ClientNoteVersion) == 0


def test_oversize_text_and_a_missing_version_are_refused_and_nothing_is_written(ctx):
    moderator, _, conversation_id = held_conversation()
    with pytest.raises(ValidationError):
        save_note(moderator, conversation_id, "x" * 201, "0")
    save_note(moderator, conversation_id, "x" * 200, "0")
    for version in (None, "", "abc", "-1"):
        with pytest.raises(ValidationError):
            save_note(moderator, conversation_id, "y", version)
    with pytest.raises(ValidationError):
        save_note(moderator, conversation_id, None, "1")
    assert count(ClientNoteVersion) == 1


RACER = r"""
import json, sys, time
from app import create_app
from app.config import TestConfig
from app.database import write_transaction
from app.clock import utcnow
from app.extensions import db
from app.models import User
from app.services import desk_notes
app = create_app(TestConfig)
start_at, moderator_id, ids, text = float(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
with app.app_context():
    moderator = db.session.get(User, moderator_id)
    time.sleep(max(0, start_at - time.time()))
    won = []
    for conversation_id in ids:          # each save its own transaction, like separate requests
        try:
            with write_transaction():
                desk_notes.save_client_note(moderator, conversation_id, text, "0", utcnow(), max_length=100, history=1)
            won.append(conversation_id)
        except desk_notes.StaleVersion:
            pass
    print(json.dumps(won))
"""


@pytest.mark.slow
def test_racing_saves_from_the_same_version_keep_exactly_one(ctx):
    """Processes save notes from version 0 on the same sheets at the same instant: each sheet gets
    one version, the others are refused as stale (the unique (sheet, version) constraint where the
    check alone would let both through), on SQLite and PostgreSQL alike."""
    import json
    import os
    import subprocess
    import sys
    import time

    from sqlalchemy import func, select

    from app.extensions import db
    from tests.support.processes import ROOT

    moderator = make_user(Role.MODERATOR, online=True)
    profile = make_profile()
    ids = [sending.send_client_message(make_user().id, profile.id, "hi", token(), NOW).message.conversation_id
           for _ in range(15)]
    db.session.commit()
    start_at = time.time() + 4
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(start_at), str(moderator.id),
                                json.dumps(ids[i * 5:] + ids[:i * 5]), f"racer {i}"], cwd=ROOT,
                               env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for i in range(3)]
    won = []
    for racer in racers:
        out, err = racer.communicate(timeout=60)
        assert racer.returncode == 0, err[-2000:]
        won += json.loads(out.strip().splitlines()[-1])
    assert sorted(won) == sorted(ids)
    db.session.rollback()
    per_sheet = db.session.execute(select(ClientNoteVersion.client_id, func.count())
                                   .group_by(ClientNoteVersion.client_id)).all()
    assert len(per_sheet) == 15 and all(n == 1 for _, n in per_sheet)
