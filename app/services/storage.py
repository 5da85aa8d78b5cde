"""Where stored files live (photos, conversation exports): bytes under keys, behind a small interface.

``FolderStorage`` keeps them in a folder under the instance folder, outside the static files: no
stored file is ever served by its path, only by views that asked a service who may have it.
Another storage (an object store) would implement the same methods. Each kind of file names its
own keys (``photos.storage``, ``exports.files``): the one place that knows its paths.
"""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator


class FolderStorage:
    """Files in a folder; keys are relative paths, never leaving the folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"key outside the storage: {key!r}")
        return path

    def write(self, key: str, data: bytes) -> None:
        """Whole or not at all (see ``writer``)."""
        with self.writer(key) as out:
            out.write(data)

    @contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        """A binary file to write ``key`` in pieces (a large file never held in memory whole).
        Whole or not at all: written beside its place and renamed when the block ends without an
        error; an error leaves nothing behind, and two writers of the same key leave one whole file."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        try:
            with open(partial, "wb") as out:
                yield out
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
