"""``flask tickets list|show|assign|close`` through Flask's CLI runner: changes made there are
recorded with no actor."""
from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Role, Ticket, TicketEvent, User
from app.services import tickets
from tests.support.context import app_context
from tests.support.factories import make_user


def test_list_show_assign_and_close(app):
    client = make_user(email="opener@example.test")
    admin = make_user(Role.ADMIN, email="boss@example.test")
    with app_context():
        with write_transaction():
            ticket = tickets.open_ticket(db.session.get(User, client.id), "appeal", "Unban me", "Line one\nLine two",
                                         now=utcnow())
            ticket_id = ticket.id
        with write_transaction():
            tickets.comment(db.session.get(User, admin.id), ticket_id, "internal thought", utcnow(), internal=True)
    runner = app.test_cli_runner()

    listed = runner.invoke(args=["tickets", "list"])
    assert listed.exit_code == 0, listed.output
    assert f"#{ticket_id:<5} open" in listed.output and "opener@example.test -> nobody  Unban me" in listed.output
    assert "1 of 1 ticket(s)" in listed.output
    assert "0 of 0" in runner.invoke(args=["tickets", "list", "--state", "closed"]).output

    assigned = runner.invoke(args=["tickets", "assign", str(ticket_id), "--to", "boss@example.test"])
    assert assigned.exit_code == 0, assigned.output
    assert "Unban me" in runner.invoke(args=["tickets", "list", "--assignee", "boss@example.test"]).output
    assert "0 of 0" in runner.invoke(args=["tickets", "list", "--assignee", "nobody"]).output
    refused = runner.invoke(args=["tickets", "assign", str(ticket_id), "--to", "opener@example.test"])
    assert refused.exit_code != 0  # not an admin
    assert runner.invoke(args=["tickets", "assign", str(ticket_id), "--to", "who@example.test"]).exit_code != 0

    closed = runner.invoke(args=["tickets", "close", str(ticket_id), "--reason", "duplicate of #1"])
    assert closed.exit_code == 0, closed.output
    again = runner.invoke(args=["tickets", "close", str(ticket_id)])
    assert again.exit_code != 0  # closed already: the table of moves refuses it
    assert runner.invoke(args=["tickets", "close", "99999"]).exit_code != 0

    shown = runner.invoke(args=["tickets", "show", str(ticket_id)])
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert f"#{ticket_id} Unban me" in out and "state closed" in out and "assignee boss@example.test" in out
    assert "    Line one\n    Line two" in out and "internal thought" in out and "(internal)" in out
    assert "command line: status" in out and "duplicate of #1" in out
    assert runner.invoke(args=["tickets", "show", "99999"]).exit_code != 0
    with app_context():
        assert db.session.get(Ticket, ticket_id).state == "closed"
        history = db.session.query(TicketEvent).order_by(TicketEvent.id).all()
        assert [(e.action, e.actor_id) for e in history] == [
            ("created", client.id), ("commented", admin.id), ("assigned", None), ("status", None)]
