"""What people type, as words to look for, and where those words stand in a message's text.

Words are runs of letters and digits (in any script); everything else separates them, so quotes,
stars, dashes, colons or parentheses typed in the box are never query syntax. Words compare
without case and without accents ("Éte" finds "été"), as both databases' indexes do.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class SearchTerms:
    """Every word must appear; ``prefix`` (the last word, when long enough) may also start a longer one."""
    words: tuple[str, ...] = ()
    prefix: str | None = None

    def matches(self, word: str) -> bool:
        folded = fold(word)
        return folded in self.words or (self.prefix is not None and folded.startswith(self.prefix))


@dataclass(frozen=True)
class Snippet:
    """A stretch of a message's text as (text, is_a_match) parts, and whether text was cut before or after."""
    parts: tuple[tuple[str, bool], ...]
    cut_before: bool = False
    cut_after: bool = False


def fold(word: str) -> str:
    """A word without accents, case folded ("Été" → "ete", "Straße" → "strasse")."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def parse_terms(text: str, prefix_min_length: int) -> SearchTerms:
    words: list[str] = []
    for match in WORD.finditer(text):
        word = fold(match.group())
        if word not in words:
            words.append(word)
    if not words:
        return SearchTerms()
    last = words[-1]
    return SearchTerms(tuple(words), last if len(last) >= prefix_min_length else None)


def snippet(body: str, terms: SearchTerms, width: int) -> Snippet:
    """About ``width`` characters of ``body`` around its first matching word, matches marked."""
    tokens = list(WORD.finditer(body))
    hits = [m for m in tokens if terms.matches(m.group())]
    if len(body) <= width:
        start, end = 0, len(body)
    else:
        first = hits[0].start() if hits else 0
        start = max(0, first - width // 3)
        if start > 0:
            space = body.rfind(" ", 0, start + 1)
            start = space + 1 if space >= 0 and first - space < width // 2 else start
        end = min(len(body), start + width)
        if end < len(body):
            space = body.rfind(" ", start, end)
            end = space if space > first else end
    parts: list[tuple[str, bool]] = []
    position = start
    for match in hits:
        if match.end() <= start or match.start() >= end:
            continue
        hit_start, hit_end = max(match.start(), start), min(match.end(), end)
        if hit_start > position:
            parts.append((body[position:hit_start], False))
        parts.append((body[hit_start:hit_end], True))
        position = hit_end
    if position < end:
        parts.append((body[position:end], False))
    return Snippet(tuple(parts), start > 0, end < len(body))
