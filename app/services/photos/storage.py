"""Where photo files live: the one place that turns a photo into keys of a storage
(``services.storage.FolderStorage``, by default under the instance folder, ``PHOTO_DIR``). No
photo is ever served by its path, only by the photo views after an access check.
"""
from __future__ import annotations

from ..storage import FolderStorage

__all__ = ["VARIANTS", "FolderStorage", "original_key", "storage_from", "variant_key"]

VARIANTS = ("thumb", "display")  # the sizes made from the original, the only ones served


def original_key(photo_id: str) -> str:
    return f"originals/{photo_id[:2]}/{photo_id}"


def variant_key(photo_id: str, variant: str) -> str:
    if variant not in VARIANTS:
        raise ValueError(variant)
    return f"{variant}/{photo_id[:2]}/{photo_id}.jpg"


def storage_from(config) -> FolderStorage:
    return FolderStorage(config["PHOTO_DIR"])
