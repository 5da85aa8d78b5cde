"""Where photo files live: the one place that turns a photo into paths.

A storage keeps bytes under keys. ``FolderStorage`` keeps them in a folder (by default under the
instance folder, ``PHOTO_DIR``), outside the static files: no photo is ever served by its path,
only by the photo views after an access check. Another storage (an object store) would implement
the same four methods.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

VARIANTS = ("thumb", "display")  # the sizes made from the original, the only ones served


def original_key(photo_id: str) -> str:
    return f"originals/{photo_id[:2]}/{photo_id}"


def variant_key(photo_id: str, variant: str) -> str:
    if variant not in VARIANTS:
        raise ValueError(variant)
    return f"{variant}/{photo_id[:2]}/{photo_id}.jpg"


class FolderStorage:
    """Files in a folder; keys are relative paths made by ``original_key`` and ``variant_key``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"key outside the storage: {key!r}")
        return path

    def write(self, key: str, data: bytes) -> None:
        """Whole or not at all: written beside its place, then renamed (two writers of the same
        key leave one whole file)."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        try:
            partial.write_bytes(data)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


def storage_from(config) -> FolderStorage:
    return FolderStorage(config["PHOTO_DIR"])
