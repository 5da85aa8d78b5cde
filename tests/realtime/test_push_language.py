"""A push speaks its recipient's language, not the language of the request that sent it."""

import pytest
from flask_login import login_user

from app.database import write_transaction
from app.extensions import db
from app.models import Role, User
from app.clock import utcnow
from app.realtime import push
from app.redis_client import get_redis, names
from app.services import sending
from tests.support.factories import make_profile, make_user, token
from tests.support.waiting import first_published

WAITING = {"en": "Waiting since", "fr": "En attente depuis", "de": "Wartet seit", "es": "Esperando desde"}


def _pushed_to(moderator_id: int, sender: User, profile_id: int, app) -> str:
    """What a client's message pushes to the moderator, sent from the client's own request."""
    with app.app_context():
        pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(names().user_channel(moderator_id))
    try:
        with app.test_request_context("/"):
            client = db.session.get(User, sender.id)
            login_user(client)  # the request is the client's: their language is the current one
            with write_transaction():
                posted = sending.post_client_message(client, profile_id, "bonjour", token(), utcnow())
            push.message_posted(posted.message)
            db.session.remove()
        return first_published(pubsub)
    finally:
        pubsub.close()


@pytest.mark.parametrize("moderator_locale", ["en", "de", "fr"])
def test_the_moderators_push_speaks_their_language_whatever_the_clients(app, moderator_locale):
    moderator = make_user(Role.MODERATOR, online=True, locale=moderator_locale)
    client = make_user(locale="fr")
    fragment = _pushed_to(moderator.id, client, make_profile().id, app)
    assert WAITING[moderator_locale] in fragment
    for other, text in WAITING.items():
        if other != moderator_locale:
            assert text not in fragment


def test_after_a_push_in_another_language_the_request_goes_on_in_its_own(app):
    """The switch is undone: the client's answer (their bubble) is rendered after the push."""
    make_user(Role.MODERATOR, online=True, locale="de")
    client = make_user(locale="es")
    profile = make_profile()
    with app.test_request_context("/"):
        sender = db.session.get(User, client.id)
        login_user(sender)
        with write_transaction():
            posted = sending.post_client_message(sender, profile.id, "hola", token(), utcnow())
        push.message_posted(posted.message)
        from flask_babel import get_locale, gettext

        assert str(get_locale()) == "es"
        assert gettext("Waiting since %(when)s", when="x") == "Esperando desde x"
        db.session.remove()
