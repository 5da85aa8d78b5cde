"""A server's log file read back after a run: its tail, counted messages and first tracebacks."""
from __future__ import annotations

from pathlib import Path

from project import ROOT


class ServerLog:
    """What the server under test wrote to ``path`` (its stdout and stderr)."""

    def __init__(self, path: Path):
        self.path = path

    def text(self) -> str:
        try:
            return self.path.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def count(self, needle: str) -> int:
        return self.text().count(needle)

    def first_tracebacks(self, count: int = 3, frames: int = 12) -> list[str]:
        """The first distinct server errors: the project's frames and the exception lines."""
        lines = self.text().splitlines()
        found, seen, i = [], set(), 0
        while i < len(lines) and len(found) < count:
            if lines[i].startswith("Traceback"):
                block = []
                i += 1
                while i < len(lines) and (lines[i].startswith(" ") or not block or "Error" not in lines[i - 1]):
                    if lines[i].startswith("Traceback") or lines[i].startswith("["):
                        break
                    block.append(lines[i])
                    i += 1
                keep = [ln.strip() for ln in block if str(ROOT) in ln or (ln and not ln.startswith(" "))]
                text = " | ".join(keep[-frames:])
                if text not in seen:
                    seen.add(text)
                    found.append(text)
            else:
                i += 1
        return found
