"""What the bad-input sweep sent, shown at the end of the test run (``pytest_terminal_summary``):
routes × roles × inputs, requests made, server errors seen."""
from __future__ import annotations

COUNTS: dict[str, dict] = {}  # kind of input -> {"routes", "roles", "inputs", "requests", "server_errors"}


def record(kind: str, role: str, routes: int, inputs: int, requests: int, server_errors: int) -> None:
    entry = COUNTS.setdefault(kind, {"routes": 0, "roles": set(), "inputs": 0, "requests": 0, "server_errors": 0})
    entry["routes"] = max(entry["routes"], routes)
    entry["roles"].add(role)
    entry["inputs"] = max(entry["inputs"], inputs)
    entry["requests"] += requests
    entry["server_errors"] += server_errors


def summary_lines(database: str) -> list[str]:
    lines = []
    for kind, c in sorted(COUNTS.items()):
        lines.append(f"bad-input sweep ({database}) {kind}: {c['routes']} routes x {len(c['roles'])} roles x "
                     f"{c['inputs']} inputs = {c['requests']} requests, {c['server_errors']} server errors")
    return lines
