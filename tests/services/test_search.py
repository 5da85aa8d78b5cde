"""Message search as a service: which messages match, in which order and pages, who may see
which results, what typed syntax does (nothing), the snippets, and opening a conversation at a
result. Runs on the database under test (SQLite's FTS5 or PostgreSQL's tsvector)."""
import pytest

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import ChangeReason, Role, User
from app.services import assignment, reading
from app.services import search as message_search
from app.services.errors import Forbidden, NotFound
from app.services.search.terms import parse_terms, snippet
from tests.support.factories import make_user
from tests.support.search import conversation_with, moderator

LIMITS = message_search.Limits(page_size=20, max_length=200, prefix_min_length=3, snippet_chars=160)


def search(actor, text, limits=LIMITS, **scope):
    return message_search.search_messages(db.session.get(User, actor.id), text, limits, **scope)


def found(actor, text, **scope):
    return [hit.message.id for hit in search(actor, text, **scope).hits]


def test_words_match_whole_words_without_case_or_accents(ctx):
    mod = moderator()
    c = conversation_with(mod, "Bonjour, il fait beau cet été", "Le CAFÉ est froid", "rien à voir", "Straße gesperrt",
                          "un cafetier passe")
    ids = c.message_ids
    assert found(mod, "ete") == [ids[0]]
    assert found(mod, "ÉTÉ") == [ids[0]]
    assert found(mod, "cafe") == [ids[4], ids[1]]          # the last word also starts longer ones
    assert found(mod, "cafe froid") == [ids[1]]            # every word must be there
    assert found(mod, "froid cafe") == [ids[1]]
    assert found(mod, "froid beau") == []
    assert found(mod, "bo") == []                          # too short to be a prefix: a whole word only
    assert found(mod, "voir") == [ids[2]]
    assert found(mod, "gesperrt") == [ids[3]]
    assert found(mod, "absent") == []


def test_newest_first_and_pages_never_repeat_nor_skip(ctx):
    mod = moderator()
    first = conversation_with(mod, "tomate un", "autre chose", "tomate deux", profile_name="Alma")
    second = conversation_with(mod, "tomate trois", "tomate quatre", "tomate cinq", profile_name="Nora", minutes_ago=30)
    expected = sorted([first.message_ids[0], first.message_ids[2], *second.message_ids], reverse=True)
    small = message_search.Limits(page_size=2, max_length=200, prefix_min_length=3, snippet_chars=160)
    seen, before, pages = [], None, 0
    while True:
        page = search(mod, "tomate", small, before_id=before)
        seen += [hit.message.id for hit in page.hits]
        pages += 1
        if page.next_before is None:
            break
        assert page.next_before == seen[-1]
        before = page.next_before
    assert seen == expected
    assert pages == 3


def test_a_moderator_sees_only_the_conversations_they_hold_now(ctx):
    mine, theirs = moderator(), moderator()
    kept = conversation_with(mine, "le mot secret ici", profile_name="Alma")
    moved = conversation_with(mine, "encore le mot secret", profile_name="Nora")
    other = conversation_with(theirs, "secret des autres", profile_name="Lena")
    assert found(mine, "secret") == [moved.message_ids[0], kept.message_ids[0]]
    assert found(theirs, "secret") == [other.message_ids[0]]
    with write_transaction():
        assert assignment.reassign(moved.conversation_id, theirs.id, utcnow(), ChangeReason.MANUAL)
    assert found(mine, "secret") == [kept.message_ids[0]]
    assert found(theirs, "secret") == [other.message_ids[0], moved.message_ids[0]]
    with pytest.raises(Forbidden):
        search(mine, "secret", conversation_id=other.conversation_id)
    with pytest.raises(Forbidden):
        search(mine, "secret", conversation_id=moved.conversation_id)


def test_admins_search_everywhere_or_in_one_conversation(ctx):
    one, two = moderator(), moderator()
    a = conversation_with(one, "orange mécanique", profile_name="Alma")
    b = conversation_with(two, "orange amère", "pas de fruit", profile_name="Nora")
    admin = make_user(Role.ADMIN)
    assert found(admin, "orange") == [b.message_ids[0], a.message_ids[0]]
    scoped = search(admin, "orange", conversation_id=a.conversation_id)
    assert [hit.message.id for hit in scoped.hits] == [a.message_ids[0]]
    assert scoped.conversation.id == a.conversation_id
    assert found(one, "orange", conversation_id=a.conversation_id) == [a.message_ids[0]]
    with pytest.raises(NotFound):
        search(admin, "orange", conversation_id=999999)


def test_clients_may_not_search_at_all(ctx):
    mod = moderator()
    c = conversation_with(mod, "mon message à moi")
    with pytest.raises(Forbidden):
        search(c.client, "message")
    with pytest.raises(Forbidden):
        search(c.client, "message", conversation_id=c.conversation_id)


@pytest.mark.parametrize("typed", ['"', '""', '*', 'NEAR(', 'NEAR(a b', '-', '- :', ':', "'", '(', ')', 'AND', 'OR NOT',
                                   'a:b', '^', '{x}', '\\', '%', '_', 'x*y', 'abc"def', '!', '&|', '<->', "o'neil",
                                   'col:val', '"unterminated', 'NEAR("a" "b", 2)'])
def test_query_syntax_typed_in_the_box_is_only_words(ctx, typed):
    mod = moderator()
    conversation_with(mod, "a b near and or not x y abc def neil o val col unterminated")
    results = search(mod, typed)   # never an error from the database's query language
    assert [hit.message.body for hit in results.hits] in ([], ["a b near and or not x y abc def neil o val col unterminated"])
    assert results.is_empty_query == (parse_terms(typed, 3).words == ())


def test_operators_are_words_here(ctx):
    mod = moderator()
    c = conversation_with(mod, "pomme verte", "poire jaune", "near pomme")
    assert found(mod, "-pomme") == [c.message_ids[2], c.message_ids[0]]      # not "without pomme"
    assert found(mod, "NEAR(pomme") == [c.message_ids[2]]                    # the word "near" and "pomme"
    assert found(mod, "pomme OR poire") == []                                # "or" is a word to find too
    assert found(mod, '"verte pomme"') == [c.message_ids[0]]                 # quotes are not a phrase


def test_empty_and_too_long_queries(ctx):
    mod = moderator()
    conversation_with(mod, "bonjour")
    for typed in (None, "", "   ", "?!…", "-- ** ::"):
        results = search(mod, typed)
        assert results.is_empty_query and results.hits == []
    assert search(mod, "b" * 200).hits == []
    with pytest.raises(message_search.QueryTooLong) as refused:
        search(mod, "b" * 201)
    assert refused.value.status_code == 400


def test_snippets_mark_the_matched_words_around_the_first_match():
    terms = parse_terms("cafe noi", 3)
    parts = snippet("Un café noir, s'il vous plaît", terms, 160).parts
    assert parts == (("Un ", False), ("café", True), (" ", False), ("noir", True), (", s'il vous plaît", False))
    long_text = " ".join(["mot"] * 100) + " le trésor caché " + " ".join(["fin"] * 100)
    cut = snippet(long_text, parse_terms("tresor", 3), 80)
    assert cut.cut_before and cut.cut_after
    marked = [text for text, match in cut.parts if match]
    assert marked == ["trésor"]
    assert 40 <= len("".join(text for text, _ in cut.parts)) <= 80
    assert snippet("rien", parse_terms("autre", 3), 160).parts == (("rien", False),)


def test_results_carry_the_conversation_and_the_snippet(ctx):
    mod = moderator()
    c = conversation_with(mod, "<b>gras</b> & <script>alert(1)</script> banane", client_name="Zoé", profile_name="Iris")
    hit, = search(mod, "banane").hits
    assert hit.conversation.client.display_name == "Zoé" and hit.conversation.profile.name == "Iris"
    assert hit.message.id == c.message_ids[0]
    assert ("banane", True) in hit.snippet.parts


def test_opening_a_conversation_at_a_result(ctx):
    mod = moderator()
    c = conversation_with(mod, *[f"ligne {i}" for i in range(1, 121)])
    target = c.message_ids[39]
    with write_transaction():
        opened = reading.open_around_for_moderator(db.session.get(User, mod.id), c.conversation_id, target,
                                                   size=50, reach_max=500)
    shown = [m.id for m in opened.page.messages]
    assert opened.focus_id == target and not opened.has_newer
    assert shown == c.message_ids[39 - 25:]                 # half a page above it, then to the latest
    assert opened.page.has_older

    with write_transaction():
        far = reading.open_around_for_moderator(db.session.get(User, mod.id), c.conversation_id, target,
                                                size=50, reach_max=30)
    assert far.has_newer and [m.id for m in far.page.messages] == c.message_ids[39 - 25:39 + 26]

    other = conversation_with(moderator(), "ailleurs", profile_name="Lena")
    with pytest.raises(NotFound), write_transaction():
        reading.open_around_for_moderator(db.session.get(User, mod.id), c.conversation_id, other.message_ids[0],
                                          size=50, reach_max=500)
    with pytest.raises(Forbidden), write_transaction():
        reading.open_around_for_moderator(db.session.get(User, mod.id), other.conversation_id, other.message_ids[0],
                                          size=50, reach_max=500)
    with pytest.raises(Forbidden):
        reading.open_for_admin(db.session.get(User, mod.id), c.conversation_id, size=50, message_id=target,
                               reach_max=500)
