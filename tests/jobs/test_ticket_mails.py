"""A ticket's changes mailed through the real worker to the real SMTP sink: each change mails the
people it concerns once (not the actor, internal changes to admins only, nobody who turned ticket
mails off), in each one's language, and enqueuing an event's mails twice sends nothing more."""
from datetime import datetime, timedelta

from flask_babel import force_locale, gettext

from app.database import write_transaction
from app.dev import outbox
from app.extensions import db
from app.jobs.tickets import enqueue_ticket_mails
from app.models import Role, User
from app.services import events, tickets
from tests.support.factories import make_user
from tests.support.rounds import settle

NOW = datetime(2026, 12, 8, 12, 0, 0)


def test_each_change_mails_its_people_once_in_their_language(ctx, rq_worker, smtp_sink):
    client = make_user(locale="fr", display_name="Chloé")
    first = make_user(Role.ADMIN, display_name="Ada")
    second = make_user(Role.ADMIN, locale="de", display_name="Dieter")
    quiet = make_user(Role.ADMIN)
    with write_transaction():
        db.session.get(User, quiet.id).mail_preferences = {"ticket": False}
    emails = [u.email for u in (client, first, second, quiet)]
    recorded = []
    events.subscribe(recorded.extend)
    try:
        def step(fn, *args, **kwargs):
            with write_transaction():
                return fn(*args, **kwargs)

        me, her = db.session.get(User, first.id), db.session.get(User, client.id)
        ticket = step(tickets.open_ticket, her, "problem", "Photo lost", "It never arrived", now=NOW)
        step(tickets.assign, me, ticket.id, second.id, NOW)
        step(tickets.comment, me, ticket.id, "Send it again please", NOW, internal=False)
        step(tickets.comment, me, ticket.id, "SECRET NOTE", NOW, internal=True)
        step(tickets.set_priority, me, ticket.id, "high", NOW)
        step(tickets.set_status, me, ticket.id, "waiting", NOW)
        step(tickets.comment, her, ticket.id, "Sent again", NOW + timedelta(minutes=1))
    finally:
        events.unsubscribe(recorded.extend)
    changed = [e.event_id for e in recorded if isinstance(e, events.TicketChanged)]
    assert len(changed) == 7
    for _ in range(2):  # a second run (the after-commit hook's, a retry) sends nothing more
        enqueued = [enqueue_ticket_mails(event_id) for event_id in changed]
    assert sum(enqueued) == 1 + 7 + 2  # enqueued again, refused by the mail job's key

    mails = settle(smtp_sink, emails, 10)
    # this ticket's mails (an admin may also hear of a job of an earlier test failing in the shared worker)
    by_person = {u.email: [m for m in mails if u.email in m["recipients"] and "Photo lost" in m["subject"]]
                 for u in (client, first, second, quiet)}
    assert [len(by_person[e]) for e in emails] == [2, 1, 7, 0]
    with force_locale("fr"):
        french_subject = gettext("Ticket #%(id)d: %(subject)s", id=ticket.id, subject="Photo lost")
    assert {m["subject"] for m in by_person[client.email]} == {french_subject}
    for mail in by_person[client.email]:
        full = outbox.get_mail(smtp_sink, mail["key"])
        assert "SECRET NOTE" not in full["text"] and "SECRET NOTE" not in full["html"]
        assert '<html lang="fr">' in full["html"] and f"/support/{ticket.id}" in full["text"]
    texts = [outbox.get_mail(smtp_sink, m["key"]) for m in by_person[second.email]]
    assert sum("SECRET NOTE" in t["text"] for t in texts) == 1
    assert all('<html lang="de">' in t["html"] and f"/admin/tickets/{ticket.id}" in t["text"] for t in texts)
    assert any("Sent again" in t["text"] for t in texts)
