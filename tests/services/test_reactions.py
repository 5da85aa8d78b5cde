"""Reactions and replies, as plain functions (no HTTP): one reaction per side and emoji, toggled;
a cap per message; only emoji; only the conversation's people; a reply stays in its conversation."""
from datetime import datetime

import pytest

from app.database import write_transaction
from app.extensions import db
from app.models import Message, MessageReaction, Role
from app.services import chat, emoji, reactions, reading, sending
from app.services.errors import Forbidden, NotFound, ServiceError
from tests.support.factories import count, make_profile, make_user, token

NOW = datetime(2026, 12, 8, 12, 0, 0)
CAP = 6


def conversation_with_a_message(body="bonjour"):
    moderator = make_user(Role.MODERATOR, online=True)
    client, profile = make_user(), make_profile()
    posted = sending.send_client_message(client.id, profile.id, body, token(), NOW)
    return client, moderator, posted.message.conversation_id, posted.message.id


def toggle(actor, message_id, text, cap=CAP):
    with write_transaction():
        return reactions.toggle_reaction(actor, message_id, text, NOW, cap)


def test_a_reaction_is_given_then_taken_back_and_never_stored_twice(ctx):
    client, _, _, message_id = conversation_with_a_message()
    given = toggle(client, message_id, "👍")
    assert [(r.emoji, r.count, r.sides) for r in given.counts] == [("👍️", 1, frozenset({"client"}))]
    assert toggle(client, message_id, "👍️").counts == []  # the same emoji, with its selector: taken back
    for _ in range(1001):
        toggle(client, message_id, "❤️")
    assert count(MessageReaction) == 1  # an odd number of clicks: given, once


def test_each_side_reacts_once_per_emoji_and_a_moderator_reacts_as_the_profile(ctx):
    client, moderator, _, message_id = conversation_with_a_message()
    toggle(client, message_id, "😂")
    both = toggle(moderator, message_id, "😂")
    assert [(r.emoji, r.count, r.sides) for r in both.counts] == [("😂", 2, frozenset({"client", "profile"}))]
    assert both.side == "profile"
    with ctx.app_context():
        assert {row.author_id for row in db.session.query(MessageReaction)} == {client.id, moderator.id}


def test_a_side_puts_at_most_the_cap_of_different_emoji_on_a_message(ctx):
    client, moderator, _, message_id = conversation_with_a_message()
    quick = ["👍", "❤️", "😂"]
    for chosen in quick:
        toggle(client, message_id, chosen, cap=3)
    with pytest.raises(ServiceError) as refused:
        toggle(client, message_id, "🙏", cap=3)
    assert refused.value.status_code == 400 and "3" in str(refused.value.message)
    toggle(moderator, message_id, "🙏", cap=3)  # the other side has its own
    toggle(client, message_id, "👍", cap=3)      # taking one back makes room
    toggle(client, message_id, "🙏", cap=3)
    assert count(MessageReaction, side="client") == 3 and count(MessageReaction) == 4


@pytest.mark.parametrize("text", ["", None, "a", "hello", "👍👍", "🏻", "🇦", "<b>", "😂" * 40, "x" * 10_000])
def test_what_is_not_one_emoji_is_refused_and_nothing_is_stored(ctx, text):
    client, _, _, message_id = conversation_with_a_message()
    with pytest.raises(ServiceError) as refused:
        toggle(client, message_id, text)
    assert refused.value.status_code == 400
    assert count(MessageReaction) == 0


def test_emoji_of_the_data_set_are_stored_in_its_one_form():
    assert emoji.canonical("❤") == emoji.canonical("❤️") == "❤️"
    assert emoji.canonical("👋🏽") == "👋🏽"  # a skin tone
    assert emoji.canonical("🏳️‍🌈") is not None  # a sequence
    assert emoji.canonical("A") is None


def test_only_the_client_the_holder_and_admins_react_or_see(ctx):
    client, moderator, _, message_id = conversation_with_a_message()
    other_client = make_user(email="other@example.com")
    other_moderator = make_user(Role.MODERATOR, email="othermod@example.com")
    admin = make_user(Role.ADMIN)
    for stranger in (other_client, other_moderator):
        with pytest.raises(Forbidden):
            toggle(stranger, message_id, "👍")
        with pytest.raises(Forbidden):
            reactions.reactions_of(stranger, message_id)
    with pytest.raises(NotFound):
        toggle(client, message_id + 1000, "👍")
    assert toggle(admin, message_id, "👍").side == "profile"
    assert reactions.reactions_of(client, message_id).counts[0].sides == {"profile"}
    assert count(MessageReaction) == 1


def test_a_history_page_carries_its_messages_reactions(ctx):
    client, moderator, conversation_id, message_id = conversation_with_a_message()
    toggle(moderator, message_id, "😮")
    page = reading.history_page(conversation_id, size=50)
    assert [r.emoji for r in page.reactions[message_id]] == ["😮"]


def test_a_reply_is_stored_with_the_message_it_answers_from_either_side(ctx):
    client, moderator, conversation_id, first_id = conversation_with_a_message("the question")
    with write_transaction():
        answer = chat.post_profile_reply(moderator, conversation_id, "the answer", token(), NOW, reply_to_id=first_id)
    posted = sending.send_client_message(client.id, answer.message.conversation.profile_id, "thanks", token(), NOW,
                                         reply_to_id=answer.message.id)
    assert answer.message.reply_to_id == first_id
    assert posted.message.reply_to_id == answer.message.id
    page = reading.history_page(conversation_id, size=50)
    assert [m.reply_to.body if m.reply_to else None for m in page.messages] == [None, "the question", "the answer"]


def test_a_reply_to_a_message_of_another_conversation_is_refused_and_nothing_is_written(ctx):
    client, moderator, conversation_id, first_id = conversation_with_a_message()
    elsewhere_client, elsewhere_profile = make_user(email="b@example.com"), make_profile(name="Other")
    elsewhere = sending.send_client_message(elsewhere_client.id, elsewhere_profile.id, "mine", token(), NOW).message
    profile_id = db.session.get(Message, first_id).conversation.profile_id
    with pytest.raises(NotFound):
        sending.send_client_message(client.id, profile_id, "hijack", token(), NOW, reply_to_id=elsewhere.id)
    with pytest.raises(NotFound):
        with write_transaction():
            chat.post_profile_reply(moderator, conversation_id, "hijack", token(), NOW, reply_to_id=elsewhere.id)
    with pytest.raises(NotFound):  # a first message answers nothing: no conversation is created either
        sending.send_client_message(elsewhere_client.id, profile_id, "first", token(), NOW, reply_to_id=first_id)
    assert count(Message) == 2
