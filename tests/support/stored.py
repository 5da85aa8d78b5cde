"""What services left behind for people and on disk: a message in English, the files of a storage."""
from __future__ import annotations


def english(message) -> str:
    """A translatable message (a service error's), as an English reader gets it."""
    from flask_babel import force_locale

    with force_locale("en"):
        return str(message)


def files(storage) -> list[str]:
    """The files under a ``FolderStorage``, by key, sorted (none when its folder was never made)."""
    return sorted(str(p.relative_to(storage.root)) for p in storage.root.rglob("*") if p.is_file()) \
        if storage.root.exists() else []
