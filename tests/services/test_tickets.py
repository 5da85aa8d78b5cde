"""Support tickets as plain functions: who may open and read what, the table of state moves (and
the moves it refuses), comments public and internal, the admins' queue, and what each change
writes (an event, a notification for each person concerned, never for the actor)."""
from datetime import datetime, timedelta

import pytest

from app.database import write_transaction
from app.extensions import db
from app.models import Notification, Role, Sanction, Ticket, TicketComment, TicketEvent, User
from app.services import chat, events, sending, ticket_lists, tickets
from app.services.errors import Forbidden, NotFound, ValidationError
from app.services.moderation import sanctions
from tests.support.factories import make_profile, make_user, token

NOW = datetime(2026, 12, 8, 12, 0, 0)
LIMITS = tickets.Limits(subject_max=20, body_max=100, comment_max=50, page_size=2)


def opened(actor, kind="problem", subject="Help", body="It broke", now=NOW, **extra):
    with write_transaction():
        return tickets.open_ticket(actor, kind, subject, body, now=now, limits=LIMITS, **extra)


def act(fn, *args, **kwargs):
    with write_transaction():
        return fn(*args, **kwargs)


def held_conversation():
    """A client's conversation with a reply from the moderator holding it: (moderator, client, conversation id)."""
    moderator = make_user(Role.MODERATOR, online=True)
    client = make_user()
    with write_transaction():
        posted = sending.send_client_message(client.id, make_profile().id, "bonjour", token(), NOW)
    conversation_id = posted.message.conversation_id
    with write_transaction():
        chat.post_profile_reply(db.session.get(User, moderator.id), conversation_id, "salut", token(), NOW)
    return moderator, client, conversation_id


def notified(user) -> list[dict]:
    return [n.params for n in db.session.query(Notification).filter_by(user_id=user.id, kind="ticket")]


def test_opening_checks_who_what_and_lengths_and_stores_text_as_typed(ctx):
    client, admin = make_user(), make_user(Role.ADMIN)
    with pytest.raises(Forbidden):
        opened(admin)
    for kind, subject, body in (("bug", "s", "b"), ("problem", "   ", "b"), ("problem", "x" * 21, "b"),
                                ("problem", "s", ""), ("problem", "s", "x" * 101)):
        with pytest.raises(ValidationError):
            opened(client, kind, subject, body)
    assert db.session.query(Ticket).count() == 0
    ticket = opened(client, subject="<b>Hi</b>", body="  <script>alert(1)</script>\n second line ")
    assert (ticket.subject, ticket.body) == ("<b>Hi</b>", "<script>alert(1)</script>\n second line")
    assert (ticket.state, ticket.priority, ticket.assignee_id, ticket.closed_at) == ("open", "normal", None, None)
    assert [(e.action, e.actor_id, e.internal) for e in db.session.query(TicketEvent)] == [("created", client.id, False)]


def test_a_ten_megabyte_body_is_refused_and_nothing_is_stored(ctx):
    client = make_user()
    with pytest.raises(ValidationError):
        with write_transaction():
            tickets.open_ticket(client, "problem", "Big", "x" * (10 * 1024 * 1024), now=NOW)
    assert db.session.query(Ticket).count() == 0 and db.session.query(TicketEvent).count() == 0
    assert db.session.query(Notification).count() == 0


def test_a_conversation_ticket_names_a_conversation_the_opener_may_see(ctx):
    moderator, client, conversation_id = held_conversation()
    stranger, other_moderator = make_user(), make_user(Role.MODERATOR)
    with pytest.raises(ValidationError):
        opened(client, "conversation")
    for someone in (stranger, other_moderator):
        with pytest.raises(NotFound):
            opened(someone, "conversation", conversation_id=conversation_id)
    with pytest.raises(NotFound):
        opened(client, "conversation", conversation_id=10**6)
    assert opened(client, "conversation", conversation_id=conversation_id).conversation_id == conversation_id
    assert opened(moderator, "conversation", conversation_id=conversation_id).conversation_id == conversation_id
    assert [c.id for c in tickets.linkable_conversations(client)] == [conversation_id]
    assert [c.id for c in tickets.linkable_conversations(moderator)] == [conversation_id]
    assert tickets.linkable_conversations(stranger) == []
    # another kind does not link the conversation named by a stray form field
    assert opened(stranger, "problem", conversation_id=conversation_id).conversation_id is None


def test_an_appeal_names_only_a_sanction_of_its_opener(ctx):
    client, other, admin = make_user(), make_user(), make_user(Role.ADMIN)
    with write_transaction():
        ban = sanctions.impose(db.session.get(User, admin.id), client.id, "ban", "spam", None, NOW)
    with pytest.raises(NotFound):
        opened(other, "appeal", sanction_id=ban.id)
    appeal = opened(client, "appeal", sanction_id=ban.id)
    assert appeal.sanction_id == ban.id
    assert [s.id for s in tickets.appealable_sanctions(client)] == [ban.id]
    assert tickets.appealable_sanctions(other) == [] and db.session.query(Sanction).count() == 1


def test_another_users_ticket_is_not_found_and_openers_see_no_internal_notes(ctx):
    client, other, admin = make_user(), make_user(), make_user(Role.ADMIN)
    ticket = opened(client)
    act(tickets.comment, admin, ticket.id, "We look at it", NOW, limits=LIMITS)
    act(tickets.comment, admin, ticket.id, "Probably a spammer", NOW, internal=True, limits=LIMITS)
    act(tickets.set_priority, admin, ticket.id, "high", NOW)
    act(tickets.assign, admin, ticket.id, admin.id, NOW)
    for attempt in (lambda: tickets.ticket_page(other, ticket.id),
                    lambda: act(tickets.comment, other, ticket.id, "me too", NOW, limits=LIMITS),
                    lambda: act(tickets.set_status, other, ticket.id, "closed", NOW),
                    lambda: tickets.ticket_page(client, 10**6)):
        with pytest.raises(NotFound):
            attempt()
    mine = tickets.ticket_page(client, ticket.id)
    assert [c.body for c in mine.comments] == ["We look at it"]
    assert [e.action for e in mine.events] == ["created", "commented"]
    everything = tickets.ticket_page(admin, ticket.id)
    assert [c.body for c in everything.comments] == ["We look at it", "Probably a spammer"]
    assert [e.action for e in everything.events] == ["created", "commented", "commented", "priority", "assigned"]
    assert [e.internal for e in everything.events] == [False, False, True, True, True]
    assert [t.id for t in ticket_lists.my_tickets(client, limits=LIMITS).tickets] == [ticket.id]
    assert ticket_lists.my_tickets(other, limits=LIMITS).tickets == []


def test_only_admins_write_internal_notes_assign_and_set_the_priority(ctx):
    client, admin, other_admin = make_user(), make_user(Role.ADMIN), make_user(Role.ADMIN)
    ticket = opened(client)
    with pytest.raises(Forbidden):
        act(tickets.comment, client, ticket.id, "secret", NOW, internal=True, limits=LIMITS)
    with pytest.raises(Forbidden):
        act(tickets.assign, client, ticket.id, admin.id, NOW)
    with pytest.raises(Forbidden):
        act(tickets.set_priority, client, ticket.id, "urgent", NOW)
    with pytest.raises(ValidationError):
        act(tickets.assign, admin, ticket.id, client.id, NOW)  # not an admin
    with pytest.raises(ValidationError):
        act(tickets.set_priority, admin, ticket.id, "asap", NOW)
    with pytest.raises(ValidationError):
        act(tickets.comment, admin, ticket.id, "x" * 51, NOW, limits=LIMITS)
    act(tickets.assign, admin, ticket.id, other_admin.id, NOW + timedelta(minutes=1))
    act(tickets.assign, admin, ticket.id, other_admin.id, NOW + timedelta(minutes=2))  # no change, no event
    stored = db.session.get(Ticket, ticket.id)
    assert (stored.assignee_id, stored.updated_at) == (other_admin.id, NOW + timedelta(minutes=1))
    act(tickets.assign, admin, ticket.id, None, NOW)
    assert [(e.action, e.detail) for e in db.session.query(TicketEvent).order_by(TicketEvent.id)][1:] == [
        ("assigned", {"from": None, "to": other_admin.id, "told": [other_admin.id]}),
        ("assigned", {"from": other_admin.id, "to": None, "told": [other_admin.id]})]


@pytest.mark.parametrize("start, target, allowed", [
    ("open", "waiting", True), ("open", "resolved", True), ("open", "closed", True), ("open", "open", False),
    ("waiting", "open", True), ("waiting", "resolved", True), ("waiting", "closed", True),
    ("waiting", "waiting", False),
    ("resolved", "open", True), ("resolved", "closed", True), ("resolved", "waiting", False),
    ("resolved", "resolved", False),
    ("closed", "open", True), ("closed", "waiting", False), ("closed", "resolved", False), ("closed", "closed", False),
])
def test_the_table_of_moves_for_admins(ctx, start, target, allowed):
    client, admin = make_user(), make_user(Role.ADMIN)
    ticket = opened(client)
    if start != "open":
        with write_transaction():
            db.session.execute(db.update(Ticket).values(state=start))
        db.session.expire_all()
    later = NOW + timedelta(hours=1)
    if not allowed:
        with pytest.raises(tickets.MoveRefused):
            act(tickets.set_status, admin, ticket.id, target, later)
        assert db.session.get(Ticket, ticket.id).state == start
        assert db.session.query(TicketEvent).filter_by(action="status").count() == 0
        return
    act(tickets.set_status, admin, ticket.id, target, later, reason="because")
    stored = db.session.get(Ticket, ticket.id)
    assert (stored.state, stored.updated_at) == (target, later)
    assert stored.closed_at == (later if target == "closed" else None)
    event = db.session.query(TicketEvent).filter_by(action="status").one()
    assert (event.detail, event.actor_id, event.internal) == (
        {"from": start, "to": target, "reason": "because", "told": [client.id]}, admin.id, False)


def test_the_opener_only_closes_and_their_comment_reopens_a_waiting_ticket(ctx):
    client, admin = make_user(), make_user(Role.ADMIN)
    ticket = opened(client)
    for state in ("open", "waiting", "resolved"):
        with pytest.raises(Forbidden):
            act(tickets.set_status, client, ticket.id, state, NOW)
    with pytest.raises(ValidationError):
        act(tickets.set_status, client, ticket.id, "gone", NOW)
    act(tickets.set_status, admin, ticket.id, "waiting", NOW)
    act(tickets.comment, client, ticket.id, "Here is more", NOW + timedelta(minutes=5), limits=LIMITS)
    stored = db.session.get(Ticket, ticket.id)
    assert (stored.state, stored.updated_at) == ("open", NOW + timedelta(minutes=5))
    last = db.session.query(TicketEvent).order_by(TicketEvent.id.desc()).first()
    assert (last.action, last.detail["from"], last.detail["to"]) == ("commented", "waiting", "open")
    act(tickets.set_status, client, ticket.id, "closed", NOW + timedelta(minutes=6))
    assert db.session.get(Ticket, ticket.id).closed_at == NOW + timedelta(minutes=6)
    with pytest.raises(tickets.MoveRefused):
        act(tickets.comment, client, ticket.id, "one more", NOW, limits=LIMITS)
    with pytest.raises(tickets.MoveRefused):
        act(tickets.set_status, client, ticket.id, "closed", NOW)
    with pytest.raises(Forbidden):
        act(tickets.set_status, client, ticket.id, "open", NOW)  # reopening is the admins'
    act(tickets.comment, admin, ticket.id, "noted", NOW, internal=True, limits=LIMITS)  # admins still note
    assert tickets.allowed_moves(client, db.session.get(Ticket, ticket.id)) == ()
    assert tickets.allowed_moves(admin, db.session.get(Ticket, ticket.id)) == ("open",)
    assert db.session.query(TicketComment).count() == 2


def test_each_change_notifies_the_people_concerned_but_not_the_actor(ctx):
    client, admin, other_admin = make_user(), make_user(Role.ADMIN), make_user(Role.ADMIN)
    disabled_admin = make_user(Role.ADMIN)
    with write_transaction():
        db.session.get(User, disabled_admin.id).active = False
    recorded = []
    events.subscribe(recorded.extend)
    try:
        ticket = opened(client)  # unassigned: every active admin is told
        assert notified(client) == []
        assert [p["action"] for p in notified(admin)] == ["created"]
        assert [p["action"] for p in notified(other_admin)] == ["created"]
        assert notified(disabled_admin) == []
        act(tickets.assign, admin, ticket.id, admin.id, NOW)  # internal: the opener is not told
        assert notified(client) == []
        act(tickets.comment, admin, ticket.id, "Answer", NOW, limits=LIMITS)
        assert notified(client) == [{"ticket_id": ticket.id, "subject": "Help", "action": "commented", "state": None}]
        act(tickets.comment, client, ticket.id, "Thanks", NOW, limits=LIMITS)  # assigned: only the assignee
        assert [p["action"] for p in notified(admin)] == ["commented"]  # merged into the unread one
        assert [p["action"] for p in notified(other_admin)] == ["created"]
    finally:
        events.unsubscribe(recorded.extend)
    stored = [e.id for e in db.session.query(TicketEvent).order_by(TicketEvent.id)]
    assert [e.event_id for e in recorded if isinstance(e, events.TicketChanged)] == stored
    link = db.session.query(Notification).filter_by(user_id=client.id).one().link
    assert link == f"/support/{ticket.id}"
    assert db.session.query(Notification).filter_by(user_id=admin.id).one().link == f"/admin/tickets/{ticket.id}"


def test_the_queue_filters_by_state_kind_age_and_assignee_in_pages(ctx):
    client, admin, other_admin = make_user(), make_user(Role.ADMIN), make_user(Role.ADMIN)
    old = opened(client, "problem", now=NOW - timedelta(days=3))
    appeal = opened(client, "appeal", now=NOW - timedelta(hours=2))
    new = opened(client, "problem", now=NOW)
    act(tickets.assign, admin, old.id, admin.id, NOW - timedelta(days=3))
    act(tickets.assign, admin, appeal.id, other_admin.id, NOW - timedelta(hours=2))
    act(tickets.set_status, admin, new.id, "resolved", NOW - timedelta(minutes=1))

    def ids(**filters):
        return [t.id for t in ticket_lists.queue(admin, NOW, ticket_lists.QueueFilters(**filters), LIMITS).tickets]

    first = ticket_lists.queue(admin, NOW, ticket_lists.QueueFilters(), LIMITS)
    assert ([t.id for t in first.tickets], first.has_next, first.total) == ([appeal.id, old.id], False, 2)
    assert ids(state="all") == [new.id, appeal.id]  # newest changed first, two a page
    assert ids(state="all", page=2) == [old.id]
    assert ids(state="all", order="oldest") == [old.id, appeal.id]
    assert ids(state="resolved") == [new.id]
    assert ids(kind="appeal") == [appeal.id]
    assert ids(older_than_hours=24) == [old.id]
    assert ids(assignee="me") == [old.id]
    assert ids(assignee=str(other_admin.id)) == [appeal.id]
    assert ids(state="all", assignee="nobody") == [new.id]
    with pytest.raises(Forbidden):
        ticket_lists.queue(client, NOW, ticket_lists.QueueFilters(), LIMITS)


def test_queue_filters_from_strings_fall_back_to_defaults():
    bad = ticket_lists.QueueFilters.from_strings({"state": "weird", "kind": "x", "older_than": "-3", "assignee": "1e9",
                                             "order": "random", "page": "abc"})
    assert bad == ticket_lists.QueueFilters()
    good = ticket_lists.QueueFilters.from_strings({"state": "closed", "kind": "appeal", "older_than": "24",
                                              "assignee": "7", "order": "oldest", "page": "3"})
    assert good == ticket_lists.QueueFilters("closed", "appeal", 24, "7", "oldest", 3)
    assert ticket_lists.QueueFilters.from_strings({"older_than": "5", "page": "9" * 30}) == ticket_lists.QueueFilters()
    assert good.as_args(page=4) == {"state": "closed", "kind": "appeal", "older_than": 24, "assignee": "7",
                                    "order": "oldest", "page": 4}


def test_the_command_line_acts_without_an_actor(ctx):
    client, admin = make_user(), make_user(Role.ADMIN)
    ticket = opened(client)
    act(tickets.assign, None, ticket.id, admin.id, NOW)
    act(tickets.set_status, None, ticket.id, "closed", NOW, reason="duplicate")
    history = db.session.query(TicketEvent).order_by(TicketEvent.id).all()
    assert [(e.action, e.actor_id) for e in history] == [("created", client.id), ("assigned", None), ("status", None)]
    assert [p["action"] for p in notified(client)] == ["status"]
    assert [p["action"] for p in notified(admin)] == ["status"]  # merged into the unread one
