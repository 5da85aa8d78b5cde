"""A conversation's messages read in chunks, and the CSV and JSON writers.

Every writer takes the header once, then lists of lines, then finishes: a conversation of any
length is written with a chunk of messages in memory at a time (``EXPORT_CHUNK_SIZE``).

JSON schema (``"format": "switchboard.conversation"``, ``"version": 1``; a change that removes or
renames a key, or changes a value's meaning, raises the version; new keys may be added)::

    {
      "format": "switchboard.conversation",
      "version": 1,
      "exported_at": "2026-12-07T09:30:00Z",           # UTC, ISO 8601, to the second
      "conversation": {
        "id": 12,
        "started_at": "2026-11-02T18:04:11Z",
        "client": {"id": 34, "name": "Alice"},
        "profile": {"id": 5, "name": "Camille"}
      },
      "messages": [                                     # oldest first
        {"id": 1001, "sent_at": "2026-11-02T18:04:11Z",
         "sender": "client",                            # "client" or "profile"
         "name": "Alice",                               # the client's name, or the profile's
         "body": "Bonjour ! 👋",                        # as typed (a photo's caption, maybe "")
         "photo": false}                                # true: the message carried a photo
      ],
      "message_count": 1
    }

Who wrote as the profile (which moderator) is never exported. CSV: the same messages, one per
row, columns ``message_id, sent_at, sender, name, body, photo`` (``photo`` is ``yes`` or empty),
UTF-8 with a byte order mark (spreadsheets then read it as UTF-8), and every text cell that a
spreadsheet would take for a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) prefixed with an apostrophe.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Iterator

from sqlalchemy import select

from ...extensions import db
from ...models import Message

SCHEMA_NAME, SCHEMA_VERSION = "switchboard.conversation", 1
CSV_COLUMNS = ("message_id", "sent_at", "sender", "name", "body", "photo")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Header:
    conversation_id: int
    started_at: datetime
    client_id: int
    client_name: str
    profile_id: int
    profile_name: str
    exported_at: datetime
    message_count: int


@dataclass(frozen=True)
class Line:
    """One message as exported."""
    id: int
    sent_at: datetime
    sender: str  # "client" or "profile"
    name: str
    body: str
    photo: bool


def utc_text(value: datetime) -> str:
    """A stored (naive UTC) time as ISO 8601 with its zone, to the second."""
    return value.replace(microsecond=0).isoformat() + "Z"


def message_chunks(conversation_id: int, up_to_id: int, size: int) -> Iterator[list]:
    """The conversation's messages up to ``up_to_id``, oldest first, ``size`` rows at a time
    (keyset: each chunk starts after the last one's id). Plain rows, no ORM objects; the read
    transaction ends after each chunk, so a long export holds no snapshot open."""
    m = Message.__table__.c
    after = 0
    while True:
        rows = db.session.execute(
            select(m.id, m.sender, m.body, m.created_at, m.photo_id)
            .where(m.conversation_id == conversation_id, m.id > after, m.id <= up_to_id)
            .order_by(m.id).limit(size)).all()
        db.session.rollback()
        if not rows:
            return
        yield rows
        after = rows[-1].id


def neutralised(cell: str) -> str:
    """A text cell a spreadsheet will show as text, never run as a formula."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


class CsvWriter:
    def __init__(self, out: BinaryIO):
        self.text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")  # the BOM, once
        self.rows = csv.writer(self.text)

    def begin(self, header: Header) -> None:
        self.rows.writerow(CSV_COLUMNS)

    def add(self, lines: list[Line]) -> None:
        self.rows.writerows((line.id, utc_text(line.sent_at), line.sender, neutralised(line.name),
                             neutralised(line.body), "yes" if line.photo else "") for line in lines)

    def finish(self) -> None:
        self.text.flush()
        self.text.detach()  # the storage closes the file


class JsonWriter:
    def __init__(self, out: BinaryIO):
        self.out = out
        self.count = 0

    def _write(self, text: str) -> None:
        self.out.write(text.encode("utf-8"))

    def begin(self, header: Header) -> None:
        head = {
            "format": SCHEMA_NAME, "version": SCHEMA_VERSION, "exported_at": utc_text(header.exported_at),
            "conversation": {"id": header.conversation_id, "started_at": utc_text(header.started_at),
                             "client": {"id": header.client_id, "name": header.client_name},
                             "profile": {"id": header.profile_id, "name": header.profile_name}},
        }
        self._write(json.dumps(head, ensure_ascii=False, indent=2)[:-2] + ',\n  "messages": [')

    def add(self, lines: list[Line]) -> None:
        parts = []
        for line in lines:
            item = {"id": line.id, "sent_at": utc_text(line.sent_at), "sender": line.sender, "name": line.name,
                    "body": line.body, "photo": line.photo}
            parts.append(("," if self.count else "") + "\n    " + json.dumps(item, ensure_ascii=False))
            self.count += 1
        self._write("".join(parts))

    def finish(self) -> None:
        self._write(("\n  " if self.count else "") + f'],\n  "message_count": {self.count}\n}}\n')
