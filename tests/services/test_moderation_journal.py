"""Reading the moderation log: the admins' filters and pages, and what a moderator sees of a client."""
from datetime import datetime, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from app.database import write_transaction
from app.models import Role
from app.services import sending
from app.services.errors import Forbidden, NotFound
from app.services.moderation import journal, log, sanctions
from tests.support.factories import make_profile, make_user, token

NOW = datetime(2026, 12, 8, 12, 0, 0)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def held_conversation():
    moderator = make_user(Role.MODERATOR, online=True)
    client = make_user()
    posted = sending.send_client_message(client.id, make_profile().id, "bonjour", token(), NOW)
    return moderator, client, posted.message.conversation_id


def write(action, actor, subject, at, **extra):
    with write_transaction():
        log.record(action, actor=actor, subject=subject, now=at, **extra)


def everything(admin, size=50, before=None, **filters):
    return journal.page(admin, journal.LogFilters(**filters), size, 200, before=before)


def test_filters_narrow_the_admins_page_newest_first(ctx):
    admin, other_admin, client, other = make_user(Role.ADMIN), make_user(Role.ADMIN), make_user(), make_user()
    write("ban", admin, client, NOW, reason="spam")
    write("warn", other_admin, client, NOW + DAY, reason="tone")
    write("mute", admin, other, NOW + 2 * DAY, reason="insults")
    write("sanction_ended", None, other, NOW + 3 * DAY)

    assert [x.action for x in everything(admin).lines] == ["sanction_ended", "mute", "warn", "ban"]
    assert [x.action for x in everything(admin, action="warn").lines] == ["warn"]
    assert [x.action for x in everything(admin, actor_id=admin.id).lines] == ["mute", "ban"]
    assert [x.action for x in everything(admin, client_id=client.id).lines] == ["warn", "ban"]
    days = everything(admin, since=(NOW + DAY).date(), until=(NOW + 2 * DAY).date())
    assert [x.action for x in days.lines] == ["mute", "warn"]


def test_pages_follow_each_other_without_overlap(ctx):
    admin, client = make_user(Role.ADMIN), make_user()
    for n in range(5):
        write("warn", admin, client, NOW + n * HOUR, reason=f"w{n}")
    first = everything(admin, size=2)
    second = everything(admin, size=2, before=first.next_before)
    third = everything(admin, size=2, before=second.next_before)
    assert [x.reason for x in first.lines + second.lines + third.lines] == ["w4", "w3", "w2", "w1", "w0"]
    assert third.next_before is None
    assert len(journal.page(admin, journal.LogFilters(), 10 ** 6, 3).lines) == 3  # bounded


def test_bad_filters_are_dropped_and_said(ctx):
    client = make_user(email="someone@example.test")
    filters, notices = journal.parse_filters(MultiDict({"client": "Someone@example.test", "action": "ban"}))
    assert filters == journal.LogFilters(action="ban", client_id=client.id) and notices == []
    filters, notices = journal.parse_filters(MultiDict({
        "action": "explode", "actor": "1; drop", "client": "nobody@example.test", "since": "2026-13-45",
        "until": "yesterday"}))
    assert filters == journal.LogFilters() and len(notices) == 4
    filters, notices = journal.parse_filters(MultiDict({"since": "2026-12-09", "until": "2026-12-01",
                                                        "actor": str(10 ** 12)}))
    assert filters == journal.LogFilters() and len(notices) == 2
    assert journal.parse_before("x") is None and journal.parse_before("99999999999999") is None


def test_only_admins_read_the_whole_log(ctx):
    for role in (Role.MODERATOR, Role.CLIENT):
        with pytest.raises(Forbidden):
            everything(make_user(role))


def test_a_moderator_sees_what_they_need_and_nothing_private(ctx):
    moderator, client, conversation_id = held_conversation()
    admin, colleague = make_user(Role.ADMIN, display_name="Secret Admin"), make_user(Role.MODERATOR)
    with write_transaction():
        sanctions.impose(admin, client.id, "ban", "spam links", NOW + HOUR, NOW - DAY)
    write("sanction_ended", None, client, NOW - DAY + HOUR, detail={"kind": "ban"})
    write("warn", colleague, client, NOW - HOUR, reason="rude")
    write("filter_flagged", None, client, NOW - HOUR, reason="rule: secret words", detail={"rule": 7})
    write("report_decided", admin, client, NOW - HOUR, reason="reported by Alice", detail={"reporter": 3})
    write("account_disabled", admin, client, NOW - HOUR, reason="admin matter")
    write("warn", admin, make_user(), NOW, reason="another client")
    with write_transaction():
        sanctions.impose(moderator, client.id, "mute", "calm down", NOW + HOUR, NOW,
                         conversation_id=conversation_id)

    lines = journal.client_log_for_moderator(moderator, conversation_id, 10)
    assert [(x.action, x.by, x.reason) for x in lines] == [
        ("mute", "you", "calm down"), ("filter_flagged", "system", None), ("warn", "moderator", "rude"),
        ("sanction_ended", "system", None), ("ban", "admin", "spam links")]
    assert lines[0].until == NOW + HOUR and lines[3].kind == "ban"
    assert not any(hasattr(x, "actor_id") or hasattr(x, "detail") for x in lines)
    assert len(journal.client_log_for_moderator(moderator, conversation_id, 2)) == 2


def test_only_the_holder_reads_a_clients_log(ctx):
    moderator, client, conversation_id = held_conversation()
    for stranger in (make_user(Role.MODERATOR), make_user(Role.ADMIN), client):
        with pytest.raises(NotFound):
            journal.client_log_for_moderator(stranger, conversation_id, 10)
    with pytest.raises(NotFound):
        journal.client_log_for_moderator(moderator, 10 ** 12, 10)
    assert journal.client_log_for_moderator(moderator, conversation_id, 10) == []
