"""A moderator mutes, from a conversation they hold, for at most the setting; sees the client's
running sanction there; may not ban, nor mute from a conversation they do not hold."""
from __future__ import annotations

from app.clock import utcnow
from app.extensions import db
from app.models import Conversation, ModerationAction, Role, Sanction
from app.services.moderation import sanctions
from tests.support.context import app_context
from tests.support.factories import count, make_profile, make_user
from tests.support.http import login, send

HX = {"HX-Request": "true", "Accept-Language": "en"}


def held(app):
    moderator = make_user(Role.MODERATOR, online=True)
    customer = make_user()
    http = app.test_client()
    assert send(http, login(http, customer.email), make_profile().id, "hello").status_code == 200
    with app_context():
        conversation_id = db.session.query(Conversation.id).filter_by(client_id=customer.id).scalar()
    mod_http = app.test_client()
    return moderator, customer, conversation_id, mod_http, login(mod_http, moderator.email)


def mute(http, csrf, conversation_id, **fields):
    data = {"csrf_token": csrf, "reason": "rude", "duration": "3600", **fields}
    return http.post(f"/moderateur/c/{conversation_id}/mute", data=data,
                     headers={**HX, "X-Error-Target": f"#mute-error-c{conversation_id}"})


def test_a_moderator_mutes_the_client_of_a_conversation_they_hold_and_sees_it(app):
    _, customer, conversation_id, http, csrf = held(app)
    page = http.get(f"/moderateur/c/{conversation_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f'id="client-sanction-c{conversation_id}"' in page and "Mute this client" in page
    response = mute(http, csrf, conversation_id)
    assert response.status_code == 200 and "rude" in response.get_data(as_text=True)
    with app_context():
        assert sanctions.running(customer.id, utcnow())["mute"].conversation_id == conversation_id
    page = http.get(f"/moderateur/c/{conversation_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "rude" in page and "Mute this client" not in page


def test_a_mute_longer_than_the_setting_or_without_reason_is_refused(app):
    _, _, conversation_id, http, csrf = held(app)
    longest = app.config["MODERATOR_MUTE_MAX_SECONDS"]
    too_long = mute(http, csrf, conversation_id, duration=str(longest + 60))
    assert too_long.status_code == 422 and "at most" in too_long.get_data(as_text=True)
    assert too_long.headers["HX-Retarget"] == f"#mute-error-c{conversation_id}"
    no_reason = mute(http, csrf, conversation_id, reason=" ")
    assert no_reason.status_code == 422 and "Give a reason." in no_reason.get_data(as_text=True)
    for duration in ("", "-5", "soon"):
        assert mute(http, csrf, conversation_id, duration=duration).status_code == 422
    assert count(Sanction) == 0 and count(ModerationAction) == 0


def test_a_moderator_may_not_mute_from_a_conversation_they_do_not_hold_nor_ban(app):
    _, customer, conversation_id, _, _ = held(app)
    stranger = app.test_client()
    csrf = login(stranger, make_user(Role.MODERATOR).email)
    refused = mute(stranger, csrf, conversation_id)
    assert refused.status_code == 403 and "only from a conversation you hold" in refused.get_data(as_text=True)
    assert mute(stranger, csrf, 999999).status_code == 404
    ban = stranger.post(f"/admin/users/{customer.id}/sanctions",
                        data={"csrf_token": csrf, "kind": "ban", "reason": "x", "duration": ""})
    assert ban.status_code in (302, 403)
    assert count(Sanction) == 0
