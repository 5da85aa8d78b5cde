"""A moderator's answer that ends their "answering" lock: the pushes render the lock state the
answer left (no flag) from what the answer loaded, without reading the conversation's lock again."""
from app.database import write_transaction
from app.extensions import db
from app.models import Conversation, ProfileLock, Role
from app.clock import utcnow
from app.redis_client import get_redis, names
from app.services import locks
from tests.support.context import app_context
from tests.support.factories import count, make_profile, make_user, token
from tests.support.http import login, send
from tests.support.sql import recorded_statements
from tests.support.waiting import first_published


def test_an_answer_that_ends_the_lock_pushes_no_flag_and_reads_no_lock(app, client):
    moderator = make_user(Role.MODERATOR, online=True)
    customer, profile = make_user(), make_profile("Iris")
    customer_csrf = login(client, customer.email)
    assert send(client, customer_csrf, profile.id, "are you there?").status_code == 200
    with app_context():
        conversation_id = db.session.query(Conversation.id).filter_by(client_id=customer.id).scalar()
        with write_transaction():  # the moderator started typing their answer
            assert locks.start_answering(conversation_id, moderator.id, utcnow()) == profile.id
        engine, r = db.engine, get_redis()
        channel = names().user_channel(moderator.id)
    pubsub = r.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    try:
        moderator_client = app.test_client()
        csrf = login(moderator_client, moderator.email)
        with recorded_statements(engine) as statements:
            response = moderator_client.post(f"/moderateur/c/{conversation_id}/messages",
                                             data={"body": "yes, here", "client_token": token()},
                                             headers={"X-CSRFToken": csrf, "HX-Request": "true"})
        assert response.status_code == 200 and "yes, here" in response.get_data(as_text=True)
        pushed = first_published(pubsub, "yes, here")
    finally:
        pubsub.close()
    assert f'id="conv-{conversation_id}"' in pushed and 'class="lock-flag"' not in pushed
    # The only read of the locks is the panel's (every lock, with its profile and moderator).
    lock_reads = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM profile_locks" in s]
    assert len(lock_reads) == 1 and "JOIN profiles" in lock_reads[0] and "JOIN users" in lock_reads[0], lock_reads
    assert count(ProfileLock, profile_id=profile.id) == 0

    # An answer without a lock: the lock state comes with the conversation, and nothing reads it.
    assert send(client, customer_csrf, profile.id, "and now?").status_code == 200
    with recorded_statements(engine) as statements:
        response = moderator_client.post(f"/moderateur/c/{conversation_id}/messages",
                                         data={"body": "still here", "client_token": token()},
                                         headers={"X-CSRFToken": csrf, "HX-Request": "true"})
    assert response.status_code == 200
    assert [s for s in statements if "FROM profile_locks" in s and s.lstrip().upper().startswith("SELECT")] == []
