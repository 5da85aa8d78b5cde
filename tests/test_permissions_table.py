"""Moderation, who may do what: the README's table and ``permissions.TABLE`` say the same, and each
row that exists is walked as each role through the real service or page.

To walk a new row: add ``WALKERS["<key>"] = function(app, role) -> bool`` (True: the action went
through; False: it was refused with a 403/404 or Forbidden/NotFound) that tries the action in the
situation the table's condition allows (a conversation the moderator holds, their own sanction…).
"""
from datetime import timedelta
from pathlib import Path

import pytest

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Conversation, Report, Role, User
from app.services import chat
from app.services.errors import Forbidden, NotFound
from app.services.moderation import permissions, sanctions
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user, token
from tests.support.http import login, send

README = Path(__file__).resolve().parents[1] / "README.md"
ROLES = {"client": Role.CLIENT, "moderator": Role.MODERATOR, "admin": Role.ADMIN}


def readme_rows():
    text = README.read_text(encoding="utf-8").split("## Moderation: who may do what", 1)[1]
    table = [line for line in text.split("\n## ", 1)[0].splitlines() if line.startswith("|")]
    assert table[0].replace(" ", "") == "|Object|Action|Client|Moderator|Admin|"
    return [tuple(cell.strip() for cell in line.strip("|").split("|")) for line in table[2:]]


def test_the_readme_table_is_the_data():
    data = [(obj, action, *(answers[role] for role in permissions.ROLES))
            for obj, action, answers in permissions.TABLE.values()]
    assert readme_rows() == data


# --- walkers: one a row; each sets up the situation and says whether the action went through ---

def held_conversation(app):
    """A client, the online moderator holding their conversation, its id."""
    moderator = make_user(Role.MODERATOR, online=True)
    client_user = make_user()
    browser = app.test_client()
    assert send(browser, login(browser, client_user.email), make_profile().id, "salut").status_code == 200
    with app_context():
        conversation_id = Conversation.query.filter_by(client_id=client_user.id).one().id
    return moderator, client_user, conversation_id


def actor_for(role, moderator):
    return moderator if role == Role.MODERATOR else make_user(role)


def try_service(call) -> bool:
    try:
        with app_context():
            with write_transaction():
                call()
        return True
    except (Forbidden, NotFound):
        return False


def walk_sanction(kind):
    def walker(app, role):
        moderator, client_user, conversation_id = held_conversation(app)
        actor = actor_for(role, moderator)
        return try_service(lambda: sanctions.impose(actor, client_user.id, kind, "reason", utcnow() + timedelta(hours=1),
                                                    utcnow(), conversation_id=conversation_id))
    return walker


def walk_lift(app, role):
    moderator, client_user, conversation_id = held_conversation(app)
    actor = actor_for(role, moderator)
    imposer = moderator if role == Role.MODERATOR else make_user(Role.ADMIN)  # "own only": their own mute
    with app_context():
        with write_transaction():
            mute = sanctions.impose(imposer, client_user.id, "mute", "reason", utcnow() + timedelta(hours=1), utcnow(),
                                    conversation_id=conversation_id)
        mute_id = mute.id
    return try_service(lambda: sanctions.lift(actor, mute_id, "", utcnow()))


def get_as(app, user, url) -> bool:
    browser = app.test_client()
    login(browser, user.email)
    status = browser.get(url).status_code
    assert status in (200, 403, 404), (url, status)
    return status == 200


def walk_log_page(app, role):
    return get_as(app, make_user(role), "/admin/moderation")


def walk_client_log(app, role):
    """Moderators: the client card of their conversation; admins: the log page filtered on the client."""
    moderator, client_user, conversation_id = held_conversation(app)
    if role == Role.ADMIN:
        return get_as(app, make_user(role), f"/admin/moderation?client={client_user.id}")
    return get_as(app, actor_for(role, moderator), f"/moderateur/c/{conversation_id}/client-log")


def walk_mute_elsewhere(app, role):
    """A moderator mutes the client of a conversation someone else holds."""
    _, client_user, conversation_id = held_conversation(app)
    return try_service(lambda: sanctions.impose(make_user(role), client_user.id, "mute", "reason",
                                                utcnow() + timedelta(hours=1), utcnow(), conversation_id=conversation_id))


def walk_lift_others(app, role):
    """A moderator lifts a mute a colleague imposed."""
    moderator, client_user, conversation_id = held_conversation(app)
    with app_context():
        with write_transaction():
            mute = sanctions.impose(moderator, client_user.id, "mute", "reason", utcnow() + timedelta(hours=1),
                                    utcnow(), conversation_id=conversation_id)
        mute_id = mute.id
    return try_service(lambda: sanctions.lift(make_user(role), mute_id, "", utcnow()))


def walk_client_log_elsewhere(app, role):
    """A moderator reads the card of a conversation someone else holds."""
    _, _, conversation_id = held_conversation(app)
    return get_as(app, make_user(role), f"/moderateur/c/{conversation_id}/client-log")


# The rows built with reports, content filters, the desk and canned replies: through their pages,
# as a person would (the blueprint's guard, then the service's own check of the object).
HX = {"HX-Request": "true"}


def browser_as(app, user):
    browser = app.test_client()
    return browser, login(browser, user.email)


def post_as(app, user, url, data) -> bool:
    browser, csrf = browser_as(app, user)
    status = browser.post(url, data={"csrf_token": csrf, **data}, headers={"X-CSRFToken": csrf, **HX}).status_code
    assert status in (200, 201, 302, 403, 404), (url, status)
    return status in (200, 201, 302)


def profile_reply(moderator, conversation_id) -> int:
    with app_context():
        with write_transaction():
            posted = chat.post_profile_reply(db.session.get(User, moderator.id), conversation_id, "hi there",
                                             token(), utcnow())
        return posted.message.id


def profile_of(conversation_id) -> int:
    with app_context():
        return db.session.get(Conversation, conversation_id).profile_id


def walk_report_content(app, role):
    """A client reports the profile's message in their own conversation; others try the same message."""
    moderator, client_user, conversation_id = held_conversation(app)
    reply_id = profile_reply(moderator, conversation_id)
    reporter = client_user if role == Role.CLIENT else actor_for(role, moderator)
    return post_as(app, reporter, f"/messages/{reply_id}/report", {"reason": "spam"})


def walk_report_content_elsewhere(app, role):
    """A client reports a message of someone else's conversation."""
    moderator, _, conversation_id = held_conversation(app)
    reply_id = profile_reply(moderator, conversation_id)
    return post_as(app, make_user(role), f"/messages/{reply_id}/report", {"reason": "spam"})


def walk_report_client(app, role):
    moderator, _, conversation_id = held_conversation(app)
    return post_as(app, actor_for(role, moderator), f"/moderateur/conversations/{conversation_id}/report",
                   {"reason": "spam"})


def walk_report_client_elsewhere(app, role):
    _, _, conversation_id = held_conversation(app)
    return post_as(app, make_user(role), f"/moderateur/conversations/{conversation_id}/report", {"reason": "spam"})


def walk_report_decide(app, role):
    moderator, _, conversation_id = held_conversation(app)
    assert post_as(app, moderator, f"/moderateur/conversations/{conversation_id}/report", {"reason": "spam"})
    with app_context():
        report_id = db.session.scalars(db.select(Report.id)).all()[-1]
    return post_as(app, actor_for(role, moderator), f"/admin/reports/{report_id}/decide", {"decision": "dismiss"})


def walk_filter_manage(app, role):
    return post_as(app, make_user(role), "/admin/filters",
                   {"kind": "words", "expression": "forbiddenword", "language": "all", "action": "block"})


def walk_filter_review(app, role):
    return get_as(app, make_user(role), "/admin/filters/flagged")


def walk_desk(kind, write):
    """The moderator holding the conversation on the desk beside the chat; an admin on the profile's
    page (fact sheet) or, for client notes, on the conversation's admin page."""
    def walker(app, role):
        moderator, _, conversation_id = held_conversation(app)
        actor = actor_for(role, moderator)
        if role == Role.ADMIN and kind == "facts":
            url = f"/admin/profiles/{profile_of(conversation_id)}/facts"
        elif role == Role.ADMIN:
            url = f"/admin/conversations/{conversation_id}/desk" + (f"/{kind}" if write else "")
        else:
            url = f"/moderateur/c/{conversation_id}/desk" + (f"/{kind}" if write else "")
        if write:
            return post_as(app, actor, url, {"body": "Said she lives in Lyon.", "version": "0"})
        return get_as(app, actor, url)
    return walker


def walk_desk_elsewhere(kind, write):
    def walker(app, role):
        _, _, conversation_id = held_conversation(app)
        url = f"/moderateur/c/{conversation_id}/desk" + (f"/{kind}" if write else "")
        if write:
            return post_as(app, make_user(role), url, {"body": "Not mine to write.", "version": "0"})
        return get_as(app, make_user(role), url)
    return walker


def walk_canned_global(app, role):
    return post_as(app, make_user(role), "/admin/canned", {"title": "Hello", "body": "Hi {client_first_name}",
                                                          "profile_id": ""})


def walk_canned_own(app, role):
    url = "/admin/canned" if role == Role.ADMIN else "/moderateur/canned"
    return post_as(app, make_user(role), url, {"title": "Mine", "body": "See you soon", "profile_id": ""})


def walk_canned_use(app, role):
    moderator, _, conversation_id = held_conversation(app)
    return get_as(app, actor_for(role, moderator), f"/moderateur/c/{conversation_id}/canned?q=")


def walk_canned_use_elsewhere(app, role):
    _, _, conversation_id = held_conversation(app)
    return get_as(app, make_user(role), f"/moderateur/c/{conversation_id}/canned?q=")


WALKERS = {
    "sanction_ban": walk_sanction("ban"),
    "sanction_mute": walk_sanction("mute"),
    "sanction_lift": walk_lift,
    "log_read_all": walk_log_page,
    "log_read_client": walk_client_log,
    "report_file_content": walk_report_content,
    "report_file_client": walk_report_client,
    "report_decide": walk_report_decide,
    "filter_manage": walk_filter_manage,
    "filter_review": walk_filter_review,
    "fact_sheet_read": walk_desk("facts", write=False),
    "fact_sheet_edit": walk_desk("facts", write=True),
    "client_notes_read": walk_desk("note", write=False),
    "client_notes_edit": walk_desk("note", write=True),
    "canned_manage_global": walk_canned_global,
    "canned_manage_own": walk_canned_own,
    "canned_use": walk_canned_use,
}
# For a conditional answer ("own conversations only", "own only"): the same action outside the
# condition, which must be refused.
OUTSIDE = {
    "sanction_mute": walk_mute_elsewhere,
    "sanction_lift": walk_lift_others,
    "log_read_client": walk_client_log_elsewhere,
    "report_file_client": walk_report_client_elsewhere,
    "fact_sheet_read": walk_desk_elsewhere("facts", write=False),
    "fact_sheet_edit": walk_desk_elsewhere("facts", write=True),
    "client_notes_read": walk_desk_elsewhere("note", write=False),
    "client_notes_edit": walk_desk_elsewhere("note", write=True),
    "canned_use": walk_canned_use_elsewhere,
}
# And the unconditional "yes" of a client: only their own conversation's messages.
OUTSIDE_YES = {"report_file_content": walk_report_content_elsewhere}
def test_every_row_is_walked():
    assert set(WALKERS) == set(permissions.TABLE)


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("key", list(WALKERS))
def test_each_role_may_do_what_the_table_says(app, key, role):
    expected = permissions.answer(role, key) != permissions.NO
    assert WALKERS[key](app, ROLES[role]) is expected, permissions.TABLE[key]


CONDITIONAL = [(key, role) for key in WALKERS for role in ROLES
               if permissions.answer(role, key) not in (permissions.YES, permissions.NO)]


@pytest.mark.parametrize("key, role", CONDITIONAL)
def test_a_condition_is_kept_outside_it(app, key, role):
    assert OUTSIDE[key](app, ROLES[role]) is False, permissions.TABLE[key]


def test_a_client_reports_only_what_they_were_sent(app):
    assert OUTSIDE_YES["report_file_content"](app, Role.CLIENT) is False
