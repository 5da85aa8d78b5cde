"""What counts as an emoji: one of the emoji data set the picker offers (emojibase, vendored from
npm under static/vendor), skin tones included, in the data set's own form. The same text with or
without its variation selectors is the same emoji (a keyboard may add or drop them)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

DATA_FILE = (Path(__file__).resolve().parents[2] / "static" / "vendor" / "emojibase-data-17.0.0" / "en"
             / "compact.json")
MAX_LENGTH = 32  # characters: the longest emoji of the set is well under it; longer text is refused unread
_SELECTORS = {0xFE0E: None, 0xFE0F: None}
_COMPONENTS = 2  # the data set's group of skin-tone and hair swatches: parts of emoji, not emoji


def _key(text: str) -> str:
    return text.translate(_SELECTORS)


@lru_cache(maxsize=1)
def _known() -> dict[str, str]:
    """Key (without variation selectors) -> the data set's form, for every emoji of a group."""
    known: dict[str, str] = {}
    for entry in json.loads(DATA_FILE.read_text(encoding="utf-8")):
        if entry.get("group") in (None, _COMPONENTS):  # regional indicator letters, swatches
            continue
        for item in (entry, *entry.get("skins", ())):
            known.setdefault(_key(item["unicode"]), item["unicode"])
    return known


def canonical(text: str | None) -> str | None:
    """``text`` as the data set writes it, if it is one emoji of the set; else None."""
    if not text or len(text) > MAX_LENGTH:
        return None
    return _known().get(_key(text.strip()))
