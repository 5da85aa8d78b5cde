"""Message search over HTTP: the results fragment (words marked, text escaped, links to the
message in its conversation), paging, who may search, and every kind of bad input answered
with a clear 4xx or an empty-query note, never a 500. Also conversations opened at a message."""
import html
import re

import pytest

from app.models import Role
from tests.support.factories import make_user
from tests.support.http import login
from tests.support.search import conversation_with, moderator

HTMX = {"HX-Request": "true", "HX-Target": "search-results", "X-Error-Target": "#search-results"}  # as the box sends
HIT_IDS = re.compile(r'data-hit-message="(\d+)"')


def logged_in(app, user):
    http = app.test_client()
    http.csrf = login(http, user.email)
    return http


def results(http, base="/moderateur/search", **params):
    response = http.get(base, query_string=params, headers=HTMX)
    return response, response.get_data(as_text=True)


def test_the_fragment_marks_the_words_and_links_to_the_message(app):
    mod = moderator()
    c = conversation_with(mod, "Rendez-vous au marché demain", "d'accord pour le marché", client_name="Zoé",
                          profile_name="Iris")
    response, text = results(logged_in(app, mod), q="marche")
    assert response.status_code == 200 and "<html" not in text
    assert [int(i) for i in HIT_IDS.findall(text)] == [c.message_ids[1], c.message_ids[0]]
    assert "<mark>marché</mark>" in text
    assert "Zoé" in text and "Iris" in text
    link = f"/moderateur/c/{c.conversation_id}?around={c.message_ids[0]}"
    assert f'href="{link}"' in text and 'hx-target="#conversation-panel"' in text
    assert 'id="search-scope" class="search-scope" hx-swap-oob="true"' in text


def test_message_text_cannot_inject_html(app):
    mod = moderator()
    conversation_with(mod, '<script>alert("x")</script> <img src=x onerror=alert(1)> banane <b>gras</b>')
    _, text = results(logged_in(app, mod), q="banane")
    assert "<script>alert" not in text and "<img src=x" not in text and "<b>gras" not in text
    assert "&lt;script&gt;" in text and "<mark>banane</mark>" in text


def test_more_results_bring_only_the_next_entries(app):
    mod = moderator()
    c = conversation_with(mod, *[f"citron numéro {i}" for i in range(1, 26)])
    http = logged_in(app, mod)
    _, text = results(http, q="citron")
    first = [int(i) for i in HIT_IDS.findall(text)]
    assert first == c.message_ids[::-1][:20]
    more = re.search(r'<li class="search-more">\s*<button[^>]*hx-get="([^"]+)"', text)
    response = http.get(html.unescape(more.group(1)), headers=HTMX)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="search-results"' not in page
    assert [int(i) for i in HIT_IDS.findall(page)] == c.message_ids[::-1][20:]
    assert "search-more" not in page


def test_clients_get_403_everywhere(app):
    c = conversation_with(moderator(), "bonjour le monde")
    http = logged_in(app, c.client)
    for url in ("/moderateur/search?q=bonjour", "/admin/search?q=bonjour",
                f"/admin/conversations/{c.conversation_id}?around={c.message_ids[0]}",
                f"/moderateur/c/{c.conversation_id}?around={c.message_ids[0]}"):
        for headers in ({}, HTMX):
            response = http.get(url, headers=headers)
            assert response.status_code == 403, url
            assert "bonjour le monde" not in response.get_data(as_text=True)


def test_a_moderator_cannot_reach_another_moderators_conversation(app):
    mine, theirs = moderator(), moderator()
    conversation_with(mine, "fraise des bois", profile_name="Alma")
    other = conversation_with(theirs, "fraise tagada", profile_name="Nora")
    http = logged_in(app, mine)
    _, text = results(http, q="fraise")
    assert "fraise des bois" in html.unescape(text).replace("<mark>", "").replace("</mark>", "")
    assert "tagada" not in text
    response, _ = results(http, q="fraise", c=str(other.conversation_id))
    assert response.status_code == 403
    assert http.get(f"/moderateur/search?q=fraise&c={other.conversation_id}").status_code == 403
    response = http.get(f"/moderateur/c/{other.conversation_id}?around={other.message_ids[0]}")
    assert response.status_code == 403 and "tagada" not in response.get_data(as_text=True)


SYNTAX = ['"', '""', '*', 'NEAR(', 'NEAR(a', '-', '- -x', ':', 'a:b', "'", "o'brien", '(', ')', '^', 'AND',
          'OR NOT', '{a b}', '\\', '%', '_', '&', '|', '!', '<->', 'x*', '"a" NEAR "b"', '😀', 'é' * 50]


@pytest.mark.parametrize("base", ["/moderateur/search", "/admin/search"])
def test_bad_input_is_never_a_500(app, base):
    mod = moderator()
    conversation_with(mod, "near a b x brien o bonjour")
    user = mod if base.startswith("/moderateur") else make_user(Role.ADMIN)
    http = logged_in(app, user)
    for typed in SYNTAX:
        for headers in (HTMX, {}):
            response = http.get(base, query_string={"q": typed}, headers=headers)
            assert response.status_code == 200, (typed, response.status_code)
    for params in ({"q": "a", "before": "abc"}, {"q": "a", "c": "x"}, {"q": "a", "before": str(2**40)},
                   {"q": "a", "c": "-3"}):
        response, _ = results(http, base, **params)
        assert response.status_code == 400, params
    response, _ = results(http, base, q="a", c="999999")
    assert response.status_code in (403, 404)


@pytest.mark.parametrize("typed", [None, "", "   ", "?!", "** -- ::"])
def test_an_empty_query_says_what_to_do(app, typed):
    mod = moderator()
    params = {} if typed is None else {"q": typed}
    response, text = results(logged_in(app, mod), **params)
    assert response.status_code == 200
    assert "Type a word to search the messages." in text and "search-hit" not in text


def test_a_huge_query_is_a_translated_400(app):
    mod = moderator(locale="de")
    http = logged_in(app, mod)
    response, text = results(http, q="a" * 201)
    assert response.status_code == 400
    assert "Suche nach höchstens 200 Zeichen." in html.unescape(text)
    assert response.headers.get("HX-Retarget") == "#search-results"
    response = http.get("/moderateur/search", query_string={"q": "a" * 5000})
    assert response.status_code == 400 and "<html" in response.get_data(as_text=True)


def test_a_plain_request_shows_the_workspace_with_results(app):
    mod = moderator()
    c = conversation_with(mod, "kiwi bien mûr")
    response = logged_in(app, mod).get("/moderateur/search?q=kiwi")
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="conversation-list"' in text
    assert [int(i) for i in HIT_IDS.findall(text)] == [c.message_ids[0]]
    assert 'value="kiwi"' in text
    assert 'hx-headers=\'{"X-Error-Target": "#search-results"}\'' in text  # errors show where results do


def test_opening_a_conversation_at_a_message(app):
    mod = moderator()
    c = conversation_with(mod, *[f"ligne {i}" for i in range(1, 121)])
    http = logged_in(app, mod)
    target = c.message_ids[10]
    response = http.get(f"/moderateur/c/{c.conversation_id}?around={target}")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'data-focus-message="{target}"' in text
    shown = [int(i) for i in re.findall(r'data-msg-id="(\d+)"', text)]
    assert shown == c.message_ids  # from the first (less than half a page above) to the latest
    panel = http.get(f"/moderateur/c/{c.conversation_id}?around={target}",
                     headers={"HX-Request": "true", "HX-Target": "conversation-panel"}).get_data(as_text=True)
    assert "<html" not in panel and f'data-focus-message="{target}"' in panel
    other = conversation_with(moderator(), "ailleurs", profile_name="Lena")
    assert http.get(f"/moderateur/c/{c.conversation_id}?around={other.message_ids[0]}").status_code == 404
    assert http.get(f"/moderateur/c/{c.conversation_id}?around=abc").status_code == 400


def test_admins_search_and_read_any_conversation_at_a_result(app):
    mod = moderator()
    c = conversation_with(mod, *[f"mangue {i}" for i in range(1, 81)])
    http = logged_in(app, make_user(Role.ADMIN))
    page = http.get("/admin/search").get_data(as_text=True)
    assert 'role="search"' in page and 'name="q"' in page
    response, text = results(http, "/admin/search", q="mangue")
    assert response.status_code == 200
    link = re.search(r'<a href="([^"]+)"', text).group(1)
    assert html.unescape(link) == f"/admin/conversations/{c.conversation_id}?around={c.message_ids[-1]}"
    target = c.message_ids[5]
    response = http.get(f"/admin/conversations/{c.conversation_id}?around={target}")
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and f'data-focus-message="{target}"' in text
    opened = http.get(f"/admin/conversations/{c.conversation_id}").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'data-msg-id="(\d+)"', opened)]
    assert shown == c.message_ids[-50:]
    older = re.search(r'<div class="older" hx-get="([^"]+)"', opened).group(1)
    rest = http.get(html.unescape(older), headers={"HX-Request": "true"}).get_data(as_text=True)
    assert [int(i) for i in re.findall(r'data-msg-id="(\d+)"', rest)] == c.message_ids[:30]
    assert http.get("/admin/conversations/999999").status_code == 404
    scoped = http.get(f"/admin/search?c={c.conversation_id}").get_data(as_text=True)
    assert f'name="c" value="{c.conversation_id}"' in scoped
