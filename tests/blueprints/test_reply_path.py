"""A moderator's answer that ends their "answering" lock: the pushes render the lock state the
answer left (no flag) from what the answer loaded, without reading the conversation's lock again."""
from app.database import write_transaction
from app.extensions import db
from app.models import Conversation, ProfileLock, Role, User
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


def test_the_clients_badge_after_a_reply_costs_no_statement_of_its_own(app, client):
    """The client's unread counter and their total over all conversations (the badge pushed with
    the reply) come from the reply's own UPDATE: no other statement reads or writes them."""
    make_user(Role.MODERATOR, online=True)
    customer = make_user()
    customer_csrf = login(client, customer.email)
    for name in ("Iris", "Noor"):
        assert send(client, customer_csrf, make_profile(name).id, "hello").status_code == 200
    with app_context():
        conversation = db.session.query(Conversation).filter_by(client_id=customer.id).first()
        conversation_id, moderator_id, engine = conversation.id, conversation.assigned_moderator_id, db.engine
        channel = names().user_channel(customer.id)
        moderator_email = db.session.get(User, moderator_id).email
        r = get_redis()
    moderator_client = app.test_client()
    csrf = login(moderator_client, moderator_email)
    pubsub = r.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    try:
        with recorded_statements(engine) as statements:
            response = moderator_client.post(f"/moderateur/c/{conversation_id}/messages",
                                             data={"body": "hi there", "client_token": token()},
                                             headers={"X-CSRFToken": csrf, "HX-Request": "true"})
        assert response.status_code == 200
        pushed = first_published(pubsub, "hi there")
    finally:
        pubsub.close()
    assert 'data-unread-total="1"' in pushed
    counting = [s for s in statements if "client_unread_count)" in s or "client_unread_count +" in s]
    assert len(counting) == 1 and counting[0].lstrip().upper().startswith("UPDATE CONVERSATIONS"), counting
