"""Inactivity end to end: typing over the socket is activity; the check, run by the real
worker, moves an idle moderator's waiting conversation and both pages hear of it live."""
import json
from datetime import timedelta

from app.database import write_transaction
from app.extensions import db
from app.jobs.inactivity import reassign_idle_moderators_work
from app.models import Conversation, Role, User
from app.clock import utcnow
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user
from tests.support.http import LiveSession, login, post_message
from tests.support.processes import run_job
from tests.support.sockets import open_socket, receive_until
from tests.support.waiting import wait_until


def _user(user_id):
    with app_context():
        db.session.expire_all()
        return db.session.get(User, user_id)


def test_typing_is_activity_and_idle_work_moves_live(web_server, rq_worker):
    idle, active = make_user(Role.MODERATOR), make_user(Role.MODERATOR)
    client, profile = make_user(), make_profile("Nora")
    idle_session, active_session = LiveSession(web_server.url), LiveSession(web_server.url)
    login(idle_session, idle.email)
    idle_ws = open_socket(idle_session)                   # idle connects first: gets the work
    wait_until(lambda: _user(idle.id).is_online)
    login(active_session, active.email)
    active_ws = open_socket(active_session)
    wait_until(lambda: _user(active.id).is_online)

    client_session = LiveSession(web_server.url)
    csrf = login(client_session, client.email)
    post_message(client_session, csrf, profile.id, "quelqu'un ?")
    receive_until(idle_ws, "quelqu&#39;un ?")

    before = _user(active.id).last_activity_at
    active_ws.send(json.dumps({"type": "typing"}))
    wait_until(lambda: _user(active.id).last_activity_at != before, timeout=10)

    later = utcnow() + timedelta(minutes=2)            # the idle one has done nothing for 2 minutes
    with app_context(), write_transaction():
        db.session.get(User, active.id).last_activity_at = later - timedelta(seconds=5)
    assert run_job("high", reassign_idle_moderators_work, later.isoformat()) == 1

    alert = receive_until(idle_ws, "no typing or reply for a minute")
    assert 'id="flash"' in alert and "Nora" in alert
    moved = receive_until(active_ws, "Nora")
    assert 'id="conversation-list"' in moved
    with app_context():
        assert Conversation.query.one().assigned_moderator_id == active.id
    idle_ws.close()
    active_ws.close()
