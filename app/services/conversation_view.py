"""How a moderator looks at their conversation list: which ones (waiting for a reply, or all)
and in what order (longest wait first, or latest activity). The choice is kept per moderator in
Redis, so the lists pushed to their pages follow it too. Unknown values fall back to the defaults."""
from __future__ import annotations

from dataclasses import dataclass

import redis

from ..redis_client import names

WAITING, ALL = "waiting", "all"
LONGEST_WAIT, LATEST = "wait", "latest"
FILTERS = (WAITING, ALL)
SORTS = (LONGEST_WAIT, LATEST)


@dataclass(frozen=True)
class ListView:
    filter: str = ALL
    sort: str = LATEST

    @property
    def waiting_only(self) -> bool:
        return self.filter == WAITING

    @property
    def longest_wait_first(self) -> bool:
        return self.sort == LONGEST_WAIT


def parse(filter_value: str | None, sort_value: str | None) -> ListView:
    """A view from what a request said; "Waiting" sorts by longest wait unless told otherwise."""
    chosen = filter_value if filter_value in FILTERS else ALL
    if sort_value in SORTS:
        return ListView(chosen, sort_value)
    return ListView(chosen, LONGEST_WAIT if chosen == WAITING else LATEST)


def _key(moderator_id: int) -> str:
    return names().key("list-view", moderator_id)


def saved(r: redis.Redis, moderator_id: int) -> ListView:
    value = r.get(_key(moderator_id))
    if not value:
        return ListView()
    text = value.decode() if isinstance(value, bytes) else value
    filter_value, _, sort_value = text.partition(":")
    return parse(filter_value, sort_value)


def save(r: redis.Redis, moderator_id: int, view: ListView) -> None:
    r.set(_key(moderator_id), f"{view.filter}:{view.sort}")


def conversations(moderator_id: int, view: ListView) -> list:
    """The moderator's conversations as ``view`` shows them."""
    from .chat import moderator_conversations

    return moderator_conversations(moderator_id, waiting_only=view.waiting_only,
                                   longest_wait_first=view.longest_wait_first)
