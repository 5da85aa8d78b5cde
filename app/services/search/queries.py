"""The statement that finds matching messages, in each database's own full-text language.

PostgreSQL: the stored ``messages.search_vector`` (``switchboard_search``: the ``simple``
dictionary after ``unaccent``, no stemming: messages come in several languages) against a
``tsquery`` built from the words. SQLite: the FTS5 table ``messages_search`` (external content,
``unicode61`` without diacritics). Both were created by the migration ``c4a8e2f6d1b9``.

The query text is built from words of letters and digits only (``terms``), each quoted, and bound
as a parameter: it holds no operator the reader typed.

On PostgreSQL, two shapes:
- everywhere (admins): one statement over all messages, newest first, the planner choosing between
  the GIN index (a rare word: read its few rows, sort them) and walking the primary key backwards
  (a common word: a page is found within the newest rows). That choice depends on the word, so the
  statement is planned for its own query text at every run (``plan_cache_mode`` for the
  transaction): a plan cached for one word would be the wrong one for the next.
- within a scope (one conversation, a moderator's conversations): the scope's messages are read
  first (a materialised CTE, through ``ix_messages_conversation_id``) and each row's stored vector
  checked. A scope holds a few thousand messages; a common word's bitmap from the GIN index holds
  hundreds of thousands, and intersecting them costs more than checking the few.
"""
from __future__ import annotations

from sqlalchemy import Select, bindparam, func, literal_column, select, text
from sqlalchemy.orm import Session

from ...models import Conversation, Message
from .terms import SearchTerms

SEARCH_CONFIG = "switchboard_search"


def tsquery_text(terms: SearchTerms) -> str:
    """``'un' & 'deux':*``: every word, the last one also as a prefix."""
    return " & ".join(f"'{word}'" + (":*" if word == terms.prefix else "") for word in terms.words)


def fts5_query_text(terms: SearchTerms) -> str:
    """``"un" "deux"*``: every word (FTS5 strings, so no bareword is read as an operator)."""
    return " ".join(f'"{word}"' + ("*" if word == terms.prefix else "") for word in terms.words)


def matching_ids(session: Session, terms: SearchTerms, *, limit: int, conversation_id: int | None = None,
                 moderator_id: int | None = None, before_id: int | None = None) -> list[int]:
    """Ids of the messages holding every word, newest first, at most ``limit``: in one conversation,
    in those ``moderator_id`` holds, or everywhere; older than ``before_id`` when given."""
    if session.get_bind().dialect.name == "postgresql":
        statement = _postgresql(terms, conversation_id, moderator_id, before_id, limit)
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    else:
        statement = _sqlite(terms, conversation_id, moderator_id, before_id, limit)
    return list(session.scalars(statement))


def _scoped(statement: Select, conversation_id: int | None, moderator_id: int | None,
            before_id: int | None) -> Select:
    if conversation_id is not None:
        statement = statement.where(Message.conversation_id == conversation_id)
    elif moderator_id is not None:
        statement = statement.join(Conversation, Conversation.id == Message.conversation_id).where(
            Conversation.assigned_moderator_id == moderator_id)
    if before_id is not None:
        statement = statement.where(Message.id < before_id)
    return statement


def _postgresql(terms: SearchTerms, conversation_id, moderator_id, before_id, limit: int) -> Select:
    query = func.to_tsquery(literal_column(f"'{SEARCH_CONFIG}'::regconfig"),
                            bindparam("search_query", tsquery_text(terms)))
    vector = literal_column("messages.search_vector")
    if conversation_id is None and moderator_id is None:
        return _scoped(select(Message.id).where(vector.op("@@")(query)), None, None, before_id) \
            .order_by(Message.id.desc()).limit(limit)
    scope = _scoped(select(Message.id, vector.label("search_vector")), conversation_id, moderator_id, before_id) \
        .cte("scope").prefix_with("MATERIALIZED")
    return (select(scope.c.id).where(scope.c.search_vector.op("@@")(query))
            .order_by(scope.c.id.desc()).limit(limit))


def _sqlite(terms: SearchTerms, conversation_id, moderator_id, before_id, limit: int) -> Select:
    matches = text("SELECT rowid FROM messages_search WHERE messages_search MATCH :search_query") \
        .bindparams(bindparam("search_query", fts5_query_text(terms)))
    return _scoped(select(Message.id).where(Message.id.in_(matches)), conversation_id, moderator_id, before_id) \
        .order_by(Message.id.desc()).limit(limit)
