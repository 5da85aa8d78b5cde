"""The statement that finds matching messages, in each database's own full-text language.

PostgreSQL: the stored ``messages.search_vector`` (``switchboard_search``: the ``simple``
dictionary after ``unaccent``, no stemming: messages come in several languages) against a
``tsquery`` built from the words. SQLite: the FTS5 table ``messages_search`` (external content,
``unicode61`` without diacritics). Both were created by the migration ``c4a8e2f6d1b9``.

The query text is built from words of letters and digits only (``terms``), and bound as a
parameter: it holds no operator the reader typed.
"""
from __future__ import annotations

from sqlalchemy import Select, bindparam, func, literal_column, select, text

from ...models import Message
from .terms import SearchTerms

SEARCH_CONFIG = "switchboard_search"


def tsquery_text(terms: SearchTerms) -> str:
    """``'un' & 'deux':*``: every word, the last one also as a prefix."""
    return " & ".join(f"'{word}'" + (":*" if word == terms.prefix else "") for word in terms.words)


def fts5_query_text(terms: SearchTerms) -> str:
    """``"un" "deux"*``: every word (FTS5 strings, so no bareword is read as an operator)."""
    return " ".join(f'"{word}"' + ("*" if word == terms.prefix else "") for word in terms.words)


def matching(dialect: str, terms: SearchTerms) -> Select:
    """``SELECT messages.id`` of the messages holding every word (to be scoped, ordered and cut)."""
    if dialect == "postgresql":
        query = func.to_tsquery(literal_column(f"'{SEARCH_CONFIG}'::regconfig"),
                                bindparam("search_query", tsquery_text(terms)))
        return select(Message.id).where(literal_column("messages.search_vector").op("@@")(query))
    return (select(Message.id)
            .where(Message.id.in_(text("SELECT rowid FROM messages_search WHERE messages_search MATCH :search_query")
                                  .bindparams(bindparam("search_query", fts5_query_text(terms))))))
