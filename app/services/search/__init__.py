"""Searching messages by their words: moderators in the conversations they hold, admins everywhere.

Invariants and what guards them:
- Nobody reads through search what they could not open: clients may not search at all; a
  moderator's results are confined to conversations assigned to them *now* (the statement joins
  ``conversations`` on ``assigned_moderator_id``); a conversation named by id is checked like any
  other (``chat.moderator_conversation``) before anything is searched, and the search is then
  confined to it.
- What people type is data, never SQL nor query syntax: it is cut into words (letters and digits
  only), and only those words, bound as one parameter, reach the database's own query language
  (``queries``): no quote, operator or parenthesis typed by someone can change what is asked.
- Pages never repeat nor skip a result: newest first, cut by message id (strictly older than the
  last one shown), one row more than shown to know whether another page exists.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Conversation, Message, Role, User
from .. import chat
from ..errors import Forbidden, NotFound, ServiceError
from . import queries
from .terms import Snippet, SearchTerms, parse_terms, snippet


@dataclass
class SearchHit:
    message: Message
    conversation: Conversation
    snippet: Snippet


@dataclass
class SearchResults:
    """One page of results, newest first; ``next_before`` pages on (None: this was the last)."""
    text: str
    terms: SearchTerms
    conversation: Conversation | None = None
    hits: list[SearchHit] = field(default_factory=list)
    next_before: int | None = None

    @property
    def is_empty_query(self) -> bool:
        return not self.terms.words


@dataclass(frozen=True)
class Limits:
    page_size: int
    max_length: int
    prefix_min_length: int
    snippet_chars: int

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(config["SEARCH_PAGE_SIZE"], config["SEARCH_QUERY_MAX_LENGTH"],
                   config["SEARCH_PREFIX_MIN_LENGTH"], config["SEARCH_SNIPPET_CHARS"])


class QueryTooLong(ServiceError):
    status_code = 400


def search_messages(actor: User, text: str | None, limits: Limits, *, conversation_id: int | None = None,
                    before_id: int | None = None) -> SearchResults:
    """The messages whose text holds every word of ``text`` (the last one also as the start of a
    word), among those ``actor`` may read, newest first."""
    if actor.role not in (Role.MODERATOR, Role.ADMIN):
        raise Forbidden(_l("Only moderators and admins search messages."))
    text = text or ""
    if len(text) > limits.max_length:
        raise QueryTooLong(_l("Search for %(count)d characters at most.", count=limits.max_length))
    terms = parse_terms(text, limits.prefix_min_length)
    conversation = _searchable_conversation(actor, conversation_id) if conversation_id is not None else None
    results = SearchResults(text, terms, conversation)
    if not terms.words:
        return results
    ids = queries.matching_ids(
        db.session, terms, limit=limits.page_size + 1, before_id=before_id,
        conversation_id=conversation.id if conversation is not None else None,
        moderator_id=actor.id if conversation is None and actor.role is Role.MODERATOR else None)
    if len(ids) > limits.page_size:
        ids = ids[:limits.page_size]
        results.next_before = ids[-1]
    results.hits = _hits(ids, terms, limits.snippet_chars)
    return results


def _searchable_conversation(actor: User, conversation_id: int) -> Conversation:
    if actor.role is Role.MODERATOR:
        return chat.moderator_conversation(actor, conversation_id, options=_HIT_LOAD)
    conversation = db.session.get(Conversation, conversation_id, options=_HIT_LOAD)
    if conversation is None:
        raise NotFound(_l("This conversation does not exist."))
    return conversation


_HIT_LOAD = (joinedload(Conversation.client), joinedload(Conversation.profile))


def _hits(ids: list[int], terms: SearchTerms, snippet_chars: int) -> list[SearchHit]:
    if not ids:
        return []
    messages = db.session.scalars(
        select(Message).where(Message.id.in_(ids))
        .options(joinedload(Message.conversation).options(*_HIT_LOAD))).unique()
    by_id = {message.id: message for message in messages}
    return [SearchHit(by_id[i], by_id[i].conversation, snippet(by_id[i].body, terms, snippet_chars))
            for i in ids if i in by_id]
