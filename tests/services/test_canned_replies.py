"""Canned replies as plain functions: who manages which, what a moderator may insert where,
placeholders filled (and unknown ones refused), limits, and text never turned into markup."""
from datetime import datetime

import pytest
from flask_babel import force_locale

from app.database import write_transaction
from app.models import CannedReply, Role
from app.services import canned_replies
from app.services.errors import Forbidden, NotFound, ValidationError
from tests.support.factories import count, make_profile, make_user
from tests.support.search import conversation_with, moderator

NOW = datetime(2026, 12, 8, 12, 0, 0)
LIMITS = canned_replies.Limits(title_max=20, body_max=100, per_owner_max=3)


def create(actor, title="Hello", body="Bonjour {client_first_name} !", profile_id=None, limits=LIMITS):
    with write_transaction():
        return canned_replies.create(actor, title=title, body=body, limits=limits, now=NOW, profile_id=profile_id).id


def titles(found):
    return [r.title for r in found]


def test_a_moderator_sees_global_their_profile_and_their_own_filled_for_the_conversation(ctx):
    admin, mod, other = make_user(Role.ADMIN), moderator(), moderator()
    c = conversation_with(mod, "salut", client_name="Julien Martin", profile_name="Iris")
    elsewhere = make_profile("Nora", 30)
    create(admin, "Global", "Bonjour {client_first_name}, ici {profile_name}.")
    create(admin, "Iris only", "Iris parle", profile_id=c.profile.id)
    create(admin, "Nora only", "Nora parle", profile_id=elsewhere.id)
    create(mod, "Mine", "À toi {client_name}")
    create(other, "Theirs", "pas pour toi")
    found = canned_replies.list_for_conversation(mod, c.conversation_id, None, NOW)
    assert titles(found) == ["Global", "Iris only", "Mine"]
    assert [r.scope for r in found] == ["global", "profile", "personal"]
    assert found[0].text == "Bonjour Julien, ici Iris."
    assert found[2].text == "À toi Julien Martin"
    filtered = canned_replies.list_for_conversation(mod, c.conversation_id, "  IRIS ", NOW)
    assert titles(filtered) == ["Global", "Iris only"]  # titles and texts as filled: "ici Iris"
    assert titles(canned_replies.list_for_conversation(mod, c.conversation_id, "parle", NOW)) == ["Iris only"]


def test_only_the_conversations_holder_gets_its_replies(ctx):
    admin, mod, other = make_user(Role.ADMIN), moderator(), moderator()
    c = conversation_with(mod, "salut")
    create(admin)
    with pytest.raises(Forbidden):
        canned_replies.list_for_conversation(other, c.conversation_id, None, NOW)
    with pytest.raises(NotFound):
        canned_replies.list_for_conversation(mod, 10**9, None, NOW)


def test_who_manages_which(ctx):
    admin, mod, other = make_user(Role.ADMIN), moderator(), moderator()
    profile = make_profile("Iris", 25)
    global_id = create(admin)
    profile_id = create(admin, profile_id=profile.id)
    mine = create(mod, profile_id=profile.id)  # a moderator's reply is always their own, whatever they ask
    assert db_reply(mine).owner_id == mod.id and db_reply(mine).profile_id is None
    for reply_id in (global_id, profile_id):
        with pytest.raises(NotFound):
            with write_transaction():
                canned_replies.update(mod, reply_id, title="x", body="y", limits=LIMITS, now=NOW)
    for actor in (other, admin):  # another moderator's reply, or an admin: not found
        with pytest.raises(NotFound):
            with write_transaction():
                canned_replies.delete(actor, mine, NOW)
    with pytest.raises(NotFound):
        create(make_user(Role.CLIENT))
    with pytest.raises(NotFound):
        create(admin, profile_id=10**9)
    with write_transaction():
        canned_replies.update(mod, mine, title="New", body="Neu", limits=LIMITS, now=NOW)
    assert (db_reply(mine).title, db_reply(mine).body) == ("New", "Neu")
    assert [r.id for r in canned_replies.list_managed(admin)] == [global_id, profile_id]
    assert [r.id for r in canned_replies.list_managed(mod)] == [mine]
    with write_transaction():
        canned_replies.delete(mod, mine, NOW)
    assert count(CannedReply) == 2


def db_reply(reply_id):
    from app.extensions import db
    return db.session.get(CannedReply, reply_id)


@pytest.mark.parametrize("title, body, says", [
    ("", "text", "title"),
    ("   ", "text", "title"),
    ("Title", "  ", "empty"),
    ("x" * 21, "text", "too long"),
    ("Title", "y" * 101, "too long"),
    ("Title", "Hi {client_firstname}", "{client_firstname}"),
    ("Title", "Hi {} and {email}", "{email}"),
])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_stored(ctx, title, body, says):
    mod = moderator()
    with pytest.raises(ValidationError) as refused:
        create(mod, title, body)
    with force_locale("en"):
        assert says in str(refused.value.message)
    assert count(CannedReply) == 0


def test_the_cap_per_owner(ctx):
    admin, mod = make_user(Role.ADMIN), moderator()
    for i in range(3):
        create(mod, f"t{i}")
    with pytest.raises(ValidationError):
        create(mod, "one more")
    create(admin, "global: another")
    assert count(CannedReply) == 4


def test_html_stays_text_and_placeholders_insert_names_as_given(ctx):
    mod = moderator()
    c = conversation_with(mod, "salut", client_name="<b>Zoé</b> x", profile_name="Iris")
    create(mod, "Html", "<script>alert(1)</script> {client_first_name}")
    [found] = canned_replies.list_for_conversation(mod, c.conversation_id, None, NOW)
    # plain text: the page inserts it into the composer's value, never as markup
    assert found.text == "<script>alert(1)</script> <b>Zoé</b>"
