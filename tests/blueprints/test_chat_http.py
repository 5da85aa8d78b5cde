"""The client's chat and the moderator's reply over HTTP, with bad input."""
from app.models import Conversation, Message, Role
from tests.support.context import app_context
from tests.support.factories import count, make_profile, make_user, token
from tests.support.http import login, send


def test_client_sends_and_gets_the_bubble_back(client):
    make_user(Role.MODERATOR, online=True)
    user, profile = make_user(), make_profile()
    csrf = login(client, user.email)
    response = send(client, csrf, profile.id, "bonjour <b>toi</b>")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "bonjour &lt;b&gt;toi&lt;/b&gt;" in html and 'class="msg mine"' in html
    page = client.get(f"/profiles/{profile.id}").get_data(as_text=True)
    assert "bonjour &lt;b&gt;toi&lt;/b&gt;" in page


def test_the_send_form_says_when_its_message_opens_the_conversation(client):
    """Only while the client has no conversation with the profile (the field orders the server's
    tries; the page drops it once a message went)."""
    make_user(Role.MODERATOR, online=True)
    user, profile = make_user(), make_profile()
    csrf = login(client, user.email)
    hint = '<input type="hidden" name="opens" value="1">'
    assert hint in client.get(f"/profiles/{profile.id}").get_data(as_text=True)
    assert send(client, csrf, profile.id, "premier", opens=True).status_code == 200
    assert hint not in client.get(f"/profiles/{profile.id}").get_data(as_text=True)


def test_the_answer_to_a_first_message_names_the_conversation_it_opened(client):
    """The page learns its conversation from the answer, not only from the push (which may come
    later, or from another process): what the client types next is signalled in it."""
    make_user(Role.MODERATOR, online=True)
    user, profile = make_user(), make_profile()
    csrf = login(client, user.email)
    html = send(client, csrf, profile.id, "premier").get_data(as_text=True)
    with app_context():
        conversation_id = Conversation.query.filter_by(client_id=user.id, profile_id=profile.id).one().id
    assert (f'<span id="conversation-of-p{profile.id}" data-own-conversation="{conversation_id}" hidden '
            f'hx-swap-oob="true"></span>') in html


def test_bad_messages_get_a_clear_4xx_fragment_and_nothing_is_stored(client):
    user, profile = make_user(), make_profile()
    csrf = login(client, user.email)
    for body, status in [("", 422), ("x" * 4001, 422)]:
        response = send(client, csrf, profile.id, body)
        assert response.status_code == status
        assert response.headers["HX-Retarget"] == "#send-error" and response.headers["HX-Reswap"] == "innerHTML"
        assert 'role="alert"' in response.get_data(as_text=True)
    assert send(client, csrf, 999999, "hello").status_code == 404
    assert send(client, "forged-token", profile.id, "hello").status_code == 400
    assert count(Message) == 0 and count(Conversation) == 0


def test_full_page_errors_for_plain_requests(client):
    user, profile = make_user(), make_profile()
    login(client, user.email)
    response = client.get("/profiles/424242")
    assert response.status_code == 404 and "<html" in response.get_data(as_text=True)
    assert client.get(f"/profiles/{profile.id}/messages?before=abc").status_code == 400


def test_moderator_sees_only_assigned_conversations(client, app):
    holder = make_user(Role.MODERATOR, online=True)
    outsider = make_user(Role.MODERATOR)
    user, profile = make_user(), make_profile()
    csrf = login(client, user.email)
    send(client, csrf, profile.id, "hello")
    with app_context():
        conversation = Conversation.query.one()
        assert conversation.assigned_moderator_id == holder.id

    moderator_client = app.test_client()
    csrf_mod = login(moderator_client, outsider.email)
    assert moderator_client.get(f"/moderateur/c/{conversation.id}").status_code == 403
    response = moderator_client.post(f"/moderateur/c/{conversation.id}/messages",
                                     data={"body": "intrusion", "client_token": token()},
                                     headers={"X-CSRFToken": csrf_mod, "HX-Request": "true"})
    assert response.status_code == 403
    assert count(Message) == 1

    holder_client = app.test_client()
    csrf_holder = login(holder_client, holder.email)
    workspace = holder_client.get("/moderateur/").get_data(as_text=True)
    assert f'data-conversation-id="{conversation.id}"' in workspace
    reply = holder_client.post(f"/moderateur/c/{conversation.id}/messages",
                               data={"body": "salut !", "client_token": token()},
                               headers={"X-CSRFToken": csrf_holder, "HX-Request": "true"})
    assert reply.status_code == 200 and "salut !" in reply.get_data(as_text=True)
    assert client.get(f"/profiles/{profile.id}/messages?after=0").get_data(as_text=True).count("data-msg-id") == 2


def test_a_conversation_opened_into_the_panel_is_the_panel_alone_else_the_whole_workspace(client, app):
    """htmx asking for the panel (``HX-Target: conversation-panel``) gets the fragment; a plain
    request, or an htmx one aimed elsewhere, gets the workspace page around it."""
    holder = make_user(Role.MODERATOR, online=True)
    user, profile = make_user(), make_profile()
    send(client, login(client, user.email), profile.id, "hello")
    with app_context():
        conversation_id = Conversation.query.one().id
    moderator_client = app.test_client()
    login(moderator_client, holder.email)
    url = f"/moderateur/c/{conversation_id}"
    panel = moderator_client.get(url, headers={"HX-Request": "true", "HX-Target": "conversation-panel"})
    html = panel.get_data(as_text=True)
    assert panel.status_code == 200 and f'data-open-conversation="{conversation_id}"' in html
    assert "<html" not in html and 'id="conversation-panel"' not in html
    for headers in ({}, {"HX-Request": "true", "HX-Target": "elsewhere"}, {"HX-Target": "conversation-panel"}):
        page = moderator_client.get(url, headers=headers).get_data(as_text=True)
        assert "<html" in page and 'id="conversation-panel"' in page, headers
        assert f'data-open-conversation="{conversation_id}"' in page


def test_history_endpoint_pages_older_messages(client):
    user, profile = make_user(), make_profile()
    csrf = login(client, user.email)
    for i in range(55):
        send(client, csrf, profile.id, f"message {i}")
    page = client.get(f"/profiles/{profile.id}").get_data(as_text=True)
    assert page.count("data-msg-id=") == 50 and "data-older" in page
    with app_context():
        first_shown = Message.query.order_by(Message.id).all()[5].id
    older = client.get(f"/profiles/{profile.id}/messages?before={first_shown}").get_data(as_text=True)
    assert older.count("data-msg-id=") == 5 and "data-older" not in older


def test_pages_are_told_how_many_times_in_a_row_to_fetch_an_overtaken_refresh_again(app, client):
    """PAGE_REFRESH_ROUNDS reaches the page (app.js reads it from the socket's element)."""
    user = make_user()
    login(client, user.email)
    configured = app.config["PAGE_REFRESH_ROUNDS"]
    try:
        app.config["PAGE_REFRESH_ROUNDS"] = 5
        page = client.get("/profiles").get_data(as_text=True)
    finally:
        app.config["PAGE_REFRESH_ROUNDS"] = configured
    assert 'id="live"' in page and 'data-refresh-rounds="5"' in page
