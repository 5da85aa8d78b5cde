"""Reports as plain functions: who may report what, one open report per object, the rate limit,
the admins' queue, decisions (with their log lines and sanctions) and the reporter's notice."""
from datetime import datetime, timedelta

import pytest

from app.database import write_transaction
from app.extensions import db
from app.models import ModerationAction, ModerationNotice, Report, Role, Sanction, User
from app.services import chat, events, sending
from app.services.errors import Forbidden, NotFound, TooMany, ValidationError
from app.services.moderation import reports, sanctions
from tests.support.factories import make_profile, make_user, token

NOW = datetime(2026, 12, 8, 12, 0, 0)
LIMITS = reports.Limits(per_hour=3, comment_max=50, page_size=2, sanction_hours=(1, 24, 0))


def conversation_with_reply(client=None, profile=None):
    """A client's conversation held by a moderator, with the profile's reply: (moderator, client, conversation, reply)."""
    moderator = make_user(Role.MODERATOR, online=True)
    client = client or make_user()
    profile = profile or make_profile()
    with write_transaction():
        posted = sending.send_client_message(client.id, profile.id, "bonjour", token(), NOW)
    conversation_id = posted.message.conversation_id
    with write_transaction():
        reply = chat.post_profile_reply(db.session.get(User, moderator.id), conversation_id, "salut", token(), NOW)
    return moderator, client, conversation_id, reply.message


def file(fn, actor, object_id, reason="spam", comment="", now=NOW):
    with write_transaction():
        return fn(actor, object_id, reason, comment, now, LIMITS)


def decide(admin, report_id, decision, note="", hours=None, now=NOW):
    with write_transaction():
        return reports.decide(admin, report_id, decision, note, hours, now, LIMITS)


def test_a_client_reports_only_the_profiles_messages_of_their_own_conversations(ctx):
    _, client, _, reply = conversation_with_reply()
    other = make_user()
    with pytest.raises(NotFound):
        file(reports.report_message, other, reply.id)
    with pytest.raises(NotFound):
        file(reports.report_message, client, 10**6)
    own = db.session.scalars(db.select(Report.__table__.c.id)).all()
    assert own == []
    from app.models import Message
    mine = db.session.scalars(db.select(Message).where(Message.author_id == client.id)).one()
    with pytest.raises(ValidationError):
        file(reports.report_message, client, mine.id)
    report = file(reports.report_message, client, reply.id, "harassment", "  rude  ")
    assert (report.kind, report.message_id, report.comment, report.state) == ("message", reply.id, "rude", "open")


def test_bad_input_is_refused_and_nothing_is_written(ctx):
    _, client, _, reply = conversation_with_reply()
    with pytest.raises(ValidationError):
        file(reports.report_message, client, reply.id, reason="boring")
    with pytest.raises(ValidationError):
        file(reports.report_message, client, reply.id, comment="x" * 51)
    moderator = make_user(Role.MODERATOR)
    with pytest.raises(Forbidden):
        file(reports.report_message, moderator, reply.id)
    assert db.session.query(Report).count() == 0


def test_one_open_report_per_reporter_and_object_and_a_limit_per_hour(ctx):
    _, client, _, reply = conversation_with_reply()
    file(reports.report_message, client, reply.id)
    with pytest.raises(ValidationError):
        file(reports.report_message, client, reply.id, reason="scam")
    profiles = [make_profile(f"P{i}") for i in range(3)]
    file(reports.report_profile, client, profiles[0].id)
    file(reports.report_profile, client, profiles[1].id)
    with pytest.raises(TooMany):
        file(reports.report_profile, client, profiles[2].id)
    file(reports.report_profile, client, profiles[2].id, now=NOW + timedelta(hours=1, seconds=1))
    assert db.session.query(Report).count() == 4


def test_a_moderator_reports_only_clients_of_conversations_they_hold(ctx):
    moderator, client, conversation_id, _ = conversation_with_reply()
    stranger = make_user(Role.MODERATOR)
    with pytest.raises(NotFound):
        file(reports.report_client, stranger, conversation_id)
    with pytest.raises(Forbidden):
        file(reports.report_client, client, conversation_id)
    report = file(reports.report_client, moderator, conversation_id, "harassment")
    assert (report.kind, report.client_id, report.object_id) == ("client", client.id, client.id)


def test_the_queue_filters_by_state_reason_and_age_oldest_first_in_pages(ctx):
    _, client, _, reply = conversation_with_reply()
    admin = make_user(Role.ADMIN)
    a = file(reports.report_message, client, reply.id, "spam", now=NOW - timedelta(hours=5))
    b = file(reports.report_profile, client, make_profile("B").id, "scam", now=NOW - timedelta(hours=1))
    c = file(reports.report_profile, client, make_profile("C").id, "spam", now=NOW)
    first = reports.queue(admin, NOW, LIMITS)
    assert ([r.id for r in first.reports], first.has_next, first.total) == ([a.id, b.id], True, 3)
    assert [r.id for r in reports.queue(admin, NOW, LIMITS, page=2).reports] == [c.id]
    assert [r.id for r in reports.queue(admin, NOW, LIMITS, reason="spam").reports] == [a.id, c.id]
    assert [r.id for r in reports.queue(admin, NOW, LIMITS, older_than_hours=2).reports] == [a.id]
    decide(admin, b.id, "dismiss")
    assert [r.id for r in reports.queue(admin, NOW, LIMITS, state="decided").reports] == [b.id]
    assert [r.id for r in reports.queue(admin, NOW, LIMITS).reports] == [a.id, c.id]
    with pytest.raises(Forbidden):
        reports.queue(client, NOW, LIMITS)


def test_dismissing_tells_the_reporter_and_logs_the_decision_once(ctx):
    _, client, _, reply = conversation_with_reply()
    admin = make_user(Role.ADMIN)
    report = file(reports.report_message, client, reply.id)
    pushed = []
    events.subscribe(pushed.extend)
    try:
        decide(admin, report.id, "dismiss", "nothing wrong")
    finally:
        events.unsubscribe(pushed.extend)
    assert [e for e in pushed if isinstance(e, events.ReportDecided)] == [events.ReportDecided(report.id, (client.id,))]
    with pytest.raises(ValidationError):
        decide(admin, report.id, "upheld")
    lines = db.session.query(ModerationAction).all()
    assert [(x.action, x.detail["decision"]) for x in lines] == [("report_decided", "dismiss")]
    notice, = reports.notices(client.id)
    assert (notice.kind, notice.report.decision) == ("outcome", "dismiss")
    with pytest.raises(NotFound):
        with write_transaction():
            reports.dismiss_notice(admin, notice.id, NOW)
    with write_transaction():
        reports.dismiss_notice(client, notice.id, NOW)
    assert reports.notices(client.id) == []
    # a second report of the same message is possible once the first is decided
    file(reports.report_message, client, reply.id)


def test_a_report_on_a_message_cannot_sanction_and_a_decision_must_be_known(ctx):
    _, client, _, reply = conversation_with_reply()
    admin = make_user(Role.ADMIN)
    report = file(reports.report_message, client, reply.id)
    for bad in ("ban", "warn", "nonsense", ""):
        with pytest.raises(ValidationError):
            decide(admin, report.id, bad, hours=1)
    with pytest.raises(NotFound):
        decide(admin, 10**6, "dismiss")
    with pytest.raises(Forbidden):
        decide(client, report.id, "dismiss")
    assert db.session.get(Report, report.id).state == "open"


def test_a_moderators_report_leads_to_a_warning_or_a_mute_with_its_own_log_line(ctx):
    moderator, client, conversation_id, _ = conversation_with_reply()
    admin = make_user(Role.ADMIN)
    warned = file(reports.report_client, moderator, conversation_id, "harassment")
    decide(admin, warned.id, "warn", "be polite")
    assert [n.kind for n in reports.notices(client.id)] == ["warning"]
    assert [n.kind for n in reports.notices(moderator.id)] == ["outcome"]
    muted = file(reports.report_client, moderator, conversation_id, "harassment")
    with pytest.raises(ValidationError):
        decide(admin, muted.id, "mute", "again", hours=5)  # not one of the choices
    decide(admin, muted.id, "mute", "again", hours=24)
    mute = sanctions.running(client.id, NOW + timedelta(hours=23))["mute"]
    assert mute.ends_at == NOW + timedelta(hours=24)
    assert db.session.get(Report, muted.id).sanction_id == mute.id
    assert [x.action for x in db.session.query(ModerationAction).order_by(ModerationAction.id)] == [
        "warn", "report_decided", "mute", "report_decided"]
    banned = file(reports.report_client, moderator, conversation_id, "scam")
    decide(admin, banned.id, "ban", "", hours=0)
    assert db.session.get(Sanction, db.session.get(Report, banned.id).sanction_id).ends_at is None
    assert db.session.query(ModerationNotice).filter_by(user_id=moderator.id).count() == 3
