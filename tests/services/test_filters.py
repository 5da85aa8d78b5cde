"""Content filters as plain functions: rules checked at save, matching per language, block / mask
/ flag on client and moderator messages with their log lines, reload through Redis."""
import time
from datetime import datetime, timedelta

import pytest
from flask_babel import force_locale

from app.database import write_transaction
from app.extensions import db
from app.models import FilterRule, FlaggedMessage, Message, ModerationAction, Role
from app.redis_client import get_redis, names
from app.services import chat, sending
from app.services.errors import Forbidden, NotFound, ValidationError
from app.services.filters import Blocked, matcher, rules, screen
from tests.support.factories import make_profile, make_user, token

NOW = datetime(2026, 12, 8, 12, 0, 0)


def add_rule(admin, expression, action="block", kind="words", language="all"):
    with write_transaction():
        rule = rules.create_rule(admin, kind=kind, expression=expression, language=language, action=action, now=NOW)
    rules.changed()
    return rule


def log_lines():
    return [(x.action, x.subject_id, x.message_id, (x.detail or {}).get("rule_id"))
            for x in db.session.query(ModerationAction).order_by(ModerationAction.id)]


def held_conversation():
    moderator = make_user(Role.MODERATOR, online=True)
    client = make_user()
    posted = sending.send_client_message(client.id, make_profile().id, "bonjour", token(), NOW)
    return moderator, client, posted.message.conversation_id


def test_words_match_whole_words_whatever_case_and_accents_per_language(ctx):
    admin = make_user(Role.ADMIN)
    add_rule(admin, "idiot, café crème", language="fr")
    add_rule(admin, "dummkopf", language="de")
    assert screen("Quel IDIOT !", "fr").blocked_by is not None
    assert screen("Un Cafe   creme ?", "fr").blocked_by is not None
    assert screen("idiotie", "fr").blocked_by is None  # not a whole word
    assert screen("Quel idiot", "de").blocked_by is None  # a French rule, a German message
    assert screen("Du Dummkopf", "de").blocked_by is not None
    assert screen("Du Dummkopf", None).blocked_by is not None  # language unknown: every rule
    assert screen("bonjour", "fr") == matcher.Screened("bonjour")


def test_a_client_message_blocked_is_refused_with_a_message_and_logged_not_stored(ctx):
    admin = make_user(Role.ADMIN)
    rule = add_rule(admin, "spamword")
    make_user(Role.MODERATOR, online=True)
    client, profile = make_user(), make_profile()
    with pytest.raises(Blocked) as refused:
        sending.send_client_message(client.id, profile.id, "buy SPAMWORD now", token(), NOW, language="en")
    with force_locale("en"):
        assert "contains words that are not allowed" in str(refused.value.message)
    assert db.session.query(Message).count() == 0
    assert log_lines() == [("filter_blocked", client.id, None, rule.id)]


def test_a_client_message_is_masked_and_flagged_with_its_log_lines(ctx):
    admin = make_user(Role.ADMIN)
    masking = add_rule(admin, "darn", action="mask")
    flagging = add_rule(admin, r"\d{4} \d{4} \d{4} \d{4}", action="flag", kind="pattern")
    make_user(Role.MODERATOR, online=True)
    client, profile = make_user(), make_profile()
    posted = sending.send_client_message(client.id, profile.id, "Darn it, card 1234 5678 9012 3456", token(), NOW,
                                         language="en")
    stored = db.session.get(Message, posted.message.id)
    assert stored.body == "**** it, card 1234 5678 9012 3456"
    flagged = db.session.query(FlaggedMessage).one()
    assert (flagged.message_id, flagged.rule_id, flagged.reviewed_at) == (stored.id, flagging.id, None)
    lines = db.session.query(ModerationAction).order_by(ModerationAction.id).all()
    assert [(x.action, x.subject_id, x.message_id) for x in lines] == [
        ("filter_masked", client.id, stored.id), ("filter_flagged", client.id, stored.id)]
    assert lines[0].detail == {"message_id": stored.id, "rule_ids": [masking.id]}
    assert lines[1].detail == {"message_id": stored.id, "rule_id": flagging.id}


def test_a_moderator_reply_is_blocked_masked_or_flagged_too(ctx):
    admin = make_user(Role.ADMIN)
    blocking = add_rule(admin, "whatsapp", language="en")
    add_rule(admin, "merde", action="mask", language="fr")
    moderator, client, conversation_id = held_conversation()
    with pytest.raises(Blocked):
        with write_transaction():
            chat.post_profile_reply(moderator, conversation_id, "add me on WhatsApp", token(), NOW, language="en")
    assert db.session.query(Message).count() == 1  # the client's only
    assert log_lines()[-1] == ("filter_blocked", moderator.id, None, blocking.id)
    with write_transaction():
        reply = chat.post_profile_reply(moderator, conversation_id, "Oh merde !", token(), NOW, language="fr")
    assert db.session.get(Message, reply.message.id).body == "Oh ***** !"
    assert log_lines()[-1][:3] == ("filter_masked", moderator.id, reply.message.id)


def test_rules_are_checked_at_save_with_clear_errors(ctx):
    admin = make_user(Role.ADMIN)
    moderator = make_user(Role.MODERATOR)
    bad = [dict(kind="pattern", expression="(unclosed"), dict(kind="pattern", expression=r"(a)\1"),
           dict(kind="pattern", expression="(?=look)"), dict(kind="pattern", expression="x*"),
           dict(kind="words", expression=" , \n ,"), dict(kind="words", expression="a" * 5000),
           dict(kind="pattern", expression="(?P<r1>x)"), dict(kind="pattern", expression="a{1000}{1000}"),
           dict(kind="pattern", expression="[a-z]{1,1000}[0-9]{1,1000}" * 6),  # short, but a huge program
           dict(kind="regex", expression="x"), dict(language="it"), dict(action="delete")]
    for fields in bad:
        values = dict(kind="words", expression="word", language="all", action="block") | fields
        with pytest.raises(ValidationError):
            with write_transaction():
                rules.create_rule(admin, **values, now=NOW)
    assert db.session.query(FilterRule).count() == 0
    with pytest.raises(Forbidden):
        rules.create_rule(moderator, kind="words", expression="word", language="all", action="block", now=NOW)
    with pytest.raises(NotFound):
        rules.update_rule(admin, 999, kind="words", expression="word", language="all", action="block", now=NOW)
    with pytest.raises(NotFound):
        rules.mark_reviewed(admin, 999, NOW)


def test_a_catastrophic_pattern_is_accepted_and_runs_in_linear_time(ctx):
    admin = make_user(Role.ADMIN)
    rule = add_rule(admin, "(a+)+$", kind="pattern", action="flag")
    text = "a" * 3000 + "b"
    started = time.perf_counter()
    result = screen(text, "en")
    assert time.perf_counter() - started < 0.05
    assert result.flagged_by is None
    assert screen("aaaa", "en").flagged_by == rule.id


def test_a_change_reaches_another_process_through_the_version_in_redis(ctx):
    admin = make_user(Role.ADMIN)
    ctx.config["FILTER_RELOAD_CHECK_MS"] = 0
    assert screen("forbidden", "en").blocked_by is None  # compiled now, no rule
    with write_transaction():  # written by "another process": this one's rules are not dropped
        rule = rules.create_rule(admin, kind="words", expression="forbidden", language="all", action="block", now=NOW)
    assert screen("forbidden", "en").blocked_by is None  # same version in Redis: no reload
    get_redis().set(names().filter_rules_version, "from-another-process")
    assert screen("forbidden", "en").blocked_by == rule.id
    with write_transaction():
        rules.set_enabled(admin, rule.id, False, NOW)
    rules.changed()
    assert screen("forbidden", "en").blocked_by is None


def test_the_version_is_read_at_most_every_interval(ctx):
    ctx.config["FILTER_RELOAD_CHECK_MS"] = 60_000
    admin = make_user(Role.ADMIN)
    screen("x", "en")
    with write_transaction():
        rules.create_rule(admin, kind="words", expression="later", language="all", action="block", now=NOW)
    get_redis().set(names().filter_rules_version, "moved")
    assert screen("later", "en").blocked_by is None  # checked less than a minute ago
    assert matcher.current(force=True) and screen("later", "en").blocked_by is not None


def test_flagged_messages_are_listed_until_reviewed(ctx):
    admin = make_user(Role.ADMIN)
    add_rule(admin, "check", action="flag")
    make_user(Role.MODERATOR, online=True)
    client = make_user()
    sending.send_client_message(client.id, make_profile().id, "check this", token(), NOW)
    [row] = rules.flagged()
    with write_transaction():
        rules.mark_reviewed(admin, row.id, NOW + timedelta(minutes=1))
    assert rules.flagged() == [] and [r.id for r in rules.flagged(reviewed=True)] == [row.id]
