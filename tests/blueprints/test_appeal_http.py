"""A banned client's page links to an appeal, which opens a ticket naming the ban; a muted
client's composer links to one naming the mute."""
import re

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Role, Ticket, User
from app.services.moderation import sanctions
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user
from tests.support.http import csrf_from, login, send


def sanction(admin, client, kind):
    with app_context():
        with write_transaction():
            return sanctions.impose(db.session.get(User, admin.id), client.id, kind, "rude words", None, utcnow()).id


def test_a_banned_client_appeals_from_the_ban_page(app):
    admin, client = make_user(Role.ADMIN), make_user()
    http = app.test_client()
    login(http, client.email)
    ban_id = sanction(admin, client, "ban")
    page = http.get("/profiles").get_data(as_text=True)
    link = re.search(r'href="([^"]*/support/new[^"]*)"', page)
    assert "You are banned" in page and link, page
    form = http.get(link.group(1).replace("&amp;", "&"))
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and f'<option value="{ban_id}" selected' in html
    assert re.search(r'<option value="appeal"\s+selected', html)
    answer = http.post("/support/new", data={"csrf_token": csrf_from(html), "kind": "appeal", "sanction_id": ban_id,
                                              "subject": "Please reconsider", "body": "It was a joke."})
    assert answer.status_code == 302
    with app_context():
        ticket = db.session.scalars(db.select(Ticket)).one()
        assert (ticket.kind, ticket.sanction_id, ticket.opener_id) == ("appeal", ban_id, client.id)


def test_a_muted_clients_composer_links_to_an_appeal_of_the_mute(app):
    admin, client = make_user(Role.ADMIN), make_user()
    profile = make_profile()
    http = app.test_client()
    csrf = login(http, client.email)
    assert send(http, csrf, profile.id, "hello").status_code == 200
    mute_id = sanction(admin, client, "mute")
    page = http.get(f"/profiles/{profile.id}").get_data(as_text=True)
    assert f"/support/new?kind=appeal&amp;sanction_id={mute_id}" in page
