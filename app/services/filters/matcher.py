"""The content filters on the send path: one entry point, ``screen``, that says what the rules do
to a message (block it, mask parts of it, flag it).

Cheap by construction: each process compiles the enabled rules once into one RE2 matcher per
language, action and kind (words, patterns), so a message costs at most six linear-time searches
whatever the number of rules. A change to the rules bumps a version counter in Redis
(``Names.filter_rules_version``, a fresh stamp each time); a process reads it at most every ``FILTER_RELOAD_CHECK_MS``
and recompiles when it moved. RE2 runs in time linear in the text: no pattern can make a send
hang, whatever an admin saved.

Word lists are matched on word boundaries against the message with its case and accents folded
(one character for one, so a mask covers exactly what matched); patterns against the message as
written.
"""
from __future__ import annotations

import re
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass, field

import re2
from flask import current_app
from sqlalchemy import select

from ...extensions import db
from ...models import FILTER_ACTIONS, FILTER_LANGUAGES, FilterRule
from ...redis_client import get_redis, names

MESSAGE_LANGUAGES = tuple(language for language in FILTER_LANGUAGES if language != "all")


def _fold_table() -> dict[int, str]:
    """Lower case without accents, one character for one (Latin letters up to U+024F)."""
    table = {}
    for code in range(0x41, 0x250):
        char = chr(code)
        lowered = char.lower()
        base = "".join(c for c in unicodedata.normalize("NFD", lowered) if not unicodedata.combining(c))
        if len(base) == 1 and base != char:
            table[code] = base
    return table


FOLD = _fold_table()


def fold(text: str) -> str:
    return text.translate(FOLD)


def options() -> re2.Options:
    chosen = re2.Options()
    chosen.log_errors = False
    return chosen


def word_list(expression: str) -> list[str]:
    """The words and phrases of a word list: one a line or comma-separated, blanks dropped."""
    return [" ".join(word.split()) for word in re.split(r"[\n,]", expression) if word.strip()]


def words_source(expression: str) -> str:
    """A word list as one RE2 alternation on word boundaries (matched against folded text)."""
    words = sorted({fold(word) for word in word_list(expression)}, key=len, reverse=True)
    return r"\b(?:" + "|".join(re.escape(word).replace(r"\ ", r"\s+") for word in words) + r")\b"


def rule_source(kind: str, expression: str) -> str:
    return words_source(expression) if kind == "words" else expression


def compile_one(kind: str, expression: str):
    """One rule compiled alone (the check at save); raises ``re2`` errors for an invalid pattern."""
    return re2.compile(("(?i)" if kind == "words" else "") + rule_source(kind, expression), options())


@dataclass(frozen=True)
class Screened:
    """What the rules did to a message: ``blocked_by`` (a rule id: refuse it), else ``body`` (masked
    where ``masked_by`` rules matched) and ``flagged_by`` (a rule id: store it, flag it)."""
    body: str
    blocked_by: int | None = None
    masked_by: tuple[int, ...] = ()
    flagged_by: int | None = None

    @property
    def hit(self) -> bool:
        return self.blocked_by is not None or bool(self.masked_by) or self.flagged_by is not None


@dataclass
class _Compiled:
    version: str | None
    # (language or None, action) -> (words matcher on folded text, patterns matcher on the text)
    matchers: dict = field(default_factory=dict)
    checked_at: float = 0.0


_compiled: dict[str, _Compiled] = {}  # by the deployment's Redis prefix
_reloading = threading.Lock()


def _combined(rules: list[FilterRule], kind: str):
    parts = [f"(?P<r{rule.id}>{rule_source(kind, rule.expression)})" for rule in rules if rule.kind == kind]
    if not parts:
        return None
    opts = options()
    opts.max_mem = 64 << 20
    return re2.compile(("(?i)" if kind == "words" else "") + "|".join(parts), opts)


def _compile(rules: list[FilterRule], version: str | None) -> _Compiled:
    compiled = _Compiled(version)
    for language in (None, *MESSAGE_LANGUAGES):
        for action in FILTER_ACTIONS:
            chosen = [rule for rule in rules if rule.action == action
                      and (language is None or rule.language in ("all", language))]
            pair = (_combined(chosen, "words"), _combined(chosen, "pattern"))
            if pair != (None, None):
                compiled.matchers[(language, action)] = pair
    return compiled


def _load(version: str | None) -> _Compiled:
    rules = list(db.session.scalars(select(FilterRule).where(FilterRule.enabled.is_(True)).order_by(FilterRule.id)))
    return _compile(rules, version)


def _version() -> str | None:
    value = get_redis().get(names().filter_rules_version)
    return value.decode() if isinstance(value, bytes) else value


def current(force: bool = False) -> _Compiled:
    """This process's compiled rules, reloaded when the version in Redis moved (read at most every
    ``FILTER_RELOAD_CHECK_MS``, or now with ``force``)."""
    key = names().prefix
    compiled = _compiled.get(key)
    clock = time.monotonic()
    if (compiled is not None and not force
            and (clock - compiled.checked_at) * 1000 < current_app.config["FILTER_RELOAD_CHECK_MS"]):
        return compiled
    version = _version()
    if compiled is None or version != compiled.version:
        with _reloading:
            compiled = _load(version)
            _compiled[key] = compiled
    compiled.checked_at = clock
    return compiled


def bump_version() -> None:
    """Tell every process the rules changed (after the commit that changed them): a new version
    stamp, never seen before (an emptied Redis cannot give back an old one); this process
    reloads at its next message, the others within ``FILTER_RELOAD_CHECK_MS``."""
    get_redis().set(names().filter_rules_version, uuid.uuid4().hex)
    _compiled.pop(names().prefix, None)


def _first(pair, body: str, folded: str) -> int | None:
    words, patterns = pair
    for matcher, text in ((words, folded), (patterns, body)):
        if matcher is not None:
            found = matcher.search(text)
            if found is not None:
                return int(found.lastgroup[1:])
    return None


def _mask(pair, body: str, folded: str) -> tuple[str, tuple[int, ...]]:
    spans, rules = [], set()
    words, patterns = pair
    for matcher, text in ((words, folded), (patterns, body)):
        if matcher is not None:
            for found in matcher.finditer(text):
                if found.end() > found.start():
                    spans.append(found.span())
                    rules.add(int(found.lastgroup[1:]))
    if not spans:
        return body, ()
    chars = list(body)
    for start, end in spans:
        chars[start:end] = "*" * (end - start)
    return "".join(chars), tuple(sorted(rules))


def screen(body: str | None, language: str | None = None) -> Screened:
    """What the enabled rules do to ``body`` written in ``language`` (``None``: rules of every
    language apply). Block first; else mask; the flag looks at the text as written."""
    if not body:
        return Screened(body or "")
    matchers = current().matchers
    if language not in MESSAGE_LANGUAGES:
        language = None
    if not any(key[0] == language for key in matchers):
        return Screened(body)
    folded = fold(body)
    blocking = matchers.get((language, "block"))
    if blocking is not None:
        rule_id = _first(blocking, body, folded)
        if rule_id is not None:
            return Screened(body, blocked_by=rule_id)
    flagging = matchers.get((language, "flag"))
    flagged_by = _first(flagging, body, folded) if flagging is not None else None
    masking = matchers.get((language, "mask"))
    masked, masked_by = _mask(masking, body, folded) if masking is not None else (body, ())
    return Screened(masked, masked_by=masked_by, flagged_by=flagged_by)
