"""Where export files live: the one place that turns an export into a key of its storage."""
from __future__ import annotations

from ..storage import FolderStorage


def export_key(export_id: str, fmt: str) -> str:
    return f"{export_id[:2]}/{export_id}.{fmt}"


def storage_from(config) -> FolderStorage:
    return FolderStorage(config["EXPORT_DIR"])
