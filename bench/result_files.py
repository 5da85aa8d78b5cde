"""Results in bench/results/<name>.json, one record per key, with when and on what machine they were taken."""
from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

from project import ROOT

RESULTS = ROOT / "bench" / "results"


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_client": "client on same machine (load generator shares the CPUs with the server)"}


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_result(name: str, key: str, record: dict) -> Path:
    """Merge ``record`` under ``key`` in bench/results/<name>.json (other keys are kept)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except ValueError:
            data = {}
    data[key] = record
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path
