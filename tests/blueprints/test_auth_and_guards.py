"""Logging in, signing up, role guards, CSRF and security headers over HTTP."""
from app.models import Role, User
from tests.support.factories import PASSWORD, count, make_user
from tests.support.http import csrf_from, login


def test_login_redirects_each_role_to_its_home(client):
    for role, home in [(Role.CLIENT, "/profiles"), (Role.MODERATOR, "/moderateur/"), (Role.ADMIN, "/admin/")]:
        user = make_user(role)
        test_client = client.application.test_client()
        page = test_client.get("/login")
        response = test_client.post("/login", data={"email": user.email, "password": PASSWORD,
                                                     "csrf_token": csrf_from(page.get_data(as_text=True))})
        assert response.status_code == 302 and response.headers["Location"].endswith(home)


def test_wrong_password_is_401_with_a_message(client):
    user = make_user()
    page = client.get("/login")
    response = client.post("/login", data={"email": user.email, "password": "nope-nope",
                                           "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 401
    assert "E-mail ou mot de passe incorrect." in response.get_data(as_text=True)  # no language asked: French


def test_client_gets_403_on_moderator_and_admin_pages(client):
    user = make_user()
    login(client, user.email)
    assert client.get("/moderateur/").status_code == 403
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/users").status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get("/moderateur/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_forged_csrf_is_refused_and_nothing_stored(client):
    response = client.post("/signup", data={"display_name": "Eve", "email": "eve@example.test",
                                            "password": "long-enough-1", "locale": "fr", "csrf_token": "forged"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)
    assert count(User, email="eve@example.test") == 0


def test_security_headers_and_cookie_flags(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "<script>" not in response.get_data(as_text=True)


def test_pages_speak_the_chosen_language(client):
    page = client.get("/login", headers={"Accept-Language": "en"})
    assert "Log in" in page.get_data(as_text=True)
    page = client.get("/login", headers={"Accept-Language": "fr"})
    assert "Se connecter" in page.get_data(as_text=True)


def test_the_socket_refuses_an_origin_that_is_not_an_address(client):
    """The page's socket is opened from our own pages only; an Origin that does not even parse
    (an unclosed IPv6 host) is refused like a foreign one, not answered with a server error."""
    login(client, make_user().email)
    for origin in ("http://[::1", "http://evil.example"):
        assert client.get("/ws", headers={"Origin": origin}).status_code == 403
