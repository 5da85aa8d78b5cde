"""What the export job does: write the file in pieces, tell its owner how far it got, finish once.

The export is taken (``queued`` → ``running``) and finished (``running`` → ``ready`` or
``failed``) by compare-and-set, each a short transaction of its own: no transaction is held while
writing (on SQLite a write transaction would hold every writer back), and a second run of the job
for a finished export changes nothing. The file is written beside its place and renamed once
whole (``FolderStorage.writer``): a crash leaves no half file to serve. An export that expired
while it was written (``cleanup``) is not revived: its new file is removed.

Only the messages that existed when the job started are exported (up to the newest id then),
so the counts and the progress agree whatever is sent meanwhile.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from flask_babel import force_locale, format_datetime, gettext, ngettext
from sqlalchemy import func, select, update

from ...database import write_transaction
from ...extensions import db
from ...models import Conversation, Export, Message, User
from ...models.exports import CSV, FAILED, JSON, READY, RUNNING, UNFINISHED
from .. import events, notifications
from ..storage import FolderStorage
from .files import export_key
from .formats import CsvWriter, Header, JsonWriter, Line, message_chunks
from .pdf import Labels, PdfWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """``EXPORT_CHUNK_SIZE``, ``EXPORT_PROGRESS_STEP``, ``EXPORT_TTL_SECONDS``."""
    chunk_size: int
    progress_step: int
    ttl_seconds: int

    @classmethod
    def from_config(cls, config) -> "Settings":
        return cls(config["EXPORT_CHUNK_SIZE"], config["EXPORT_PROGRESS_STEP"], config["EXPORT_TTL_SECONDS"])


class _Expired(Exception):
    """The export expired (or vanished) while it was being written."""


def _changed(statement) -> bool:
    return bool(db.session.execute(statement).rowcount)


def _exports():
    return Export.__table__


def start(export_id: str, now: datetime) -> bool:
    """Queued (or left running by a worker that died) → running, unless it expired. True if taken."""
    t = _exports()
    taken = _changed(update(t).where(t.c.id == export_id, t.c.state.in_(UNFINISHED), t.c.expires_at > now)
                     .values(state=RUNNING, progress=0, started_at=now))
    if taken:
        events.record(events.ExportChanged(export_id))
    return taken


def report_progress(export_id: str, percent: int) -> bool:
    """A running export got further; False when it is no longer running (it expired meanwhile)."""
    t = _exports()
    moved = _changed(update(t).where(t.c.id == export_id, t.c.state == RUNNING).values(progress=percent))
    if moved:
        events.record(events.ExportChanged(export_id))
    return moved


def finish(export_id: str, file_key: str | None, file_bytes: int | None, message_count: int | None,
           now: datetime, ttl_seconds: int) -> bool:
    """Running → ready (its file written: it expires ``ttl_seconds`` from now) or failed (no file). Once."""
    t = _exports()
    values = {"state": FAILED, "finished_at": now}
    if file_key is not None:
        values.update(state=READY, progress=100, file_key=file_key, file_bytes=file_bytes,
                      message_count=message_count, expires_at=now + timedelta(seconds=ttl_seconds))
    done = _changed(update(t).where(t.c.id == export_id, t.c.state == RUNNING).values(**values))
    if done:
        events.record(events.ExportChanged(export_id))
        if file_key is not None:
            _tell_owner(export_id, now)
    return done


def _tell_owner(export_id: str, now: datetime) -> None:
    """A ready export is in its owner's notifications (they may have left the page that asked)."""
    export = db.session.get(Export, export_id)
    conversation = db.session.get(Conversation, export.conversation_id)
    notifications.notify(export.owner_id, "export_ready", f"export:{export_id}"[:48], now=now,
                         params={"profile": conversation.profile.name, "format": export.format},
                         link=notifications.path("chat.export_file", export_id=export_id))


def _labels(owner: User, header: Header) -> Labels:
    with force_locale(owner.locale):
        return Labels(
            title=gettext("Conversation between %(client)s and %(profile)s", client=header.client_name,
                          profile=header.profile_name),
            subtitle=ngettext("Exported on %(date)s · %(num)d message", "Exported on %(date)s · %(num)d messages",
                              header.message_count, date=format_datetime(header.exported_at, "medium")),
            photo=gettext("[Photo]"),
            page=gettext("Page %(page)s of %(pages)s", page="{page}", pages="{nb}"),
            when=_in_language(owner.locale))


def _in_language(locale: str) -> Callable[[datetime], str]:
    def when(value: datetime) -> str:
        with force_locale(locale):
            return format_datetime(value, "medium")
    return when


def _writer(fmt: str, out, owner: User, header: Header):
    if fmt == CSV:
        return CsvWriter(out)
    if fmt == JSON:
        return JsonWriter(out)
    return PdfWriter(out, _labels(owner, header))


def _header(conversation_id: int, now: datetime) -> tuple[Header, int]:
    conversation = db.session.get(Conversation, conversation_id)
    m = Message.__table__.c
    count, newest = db.session.execute(select(func.count(), func.max(m.id))
                                       .where(m.conversation_id == conversation_id)).one()
    header = Header(conversation.id, conversation.created_at, conversation.client_id,
                    conversation.client.display_name, conversation.profile_id, conversation.profile.name, now, count)
    return header, newest or 0


def _lines(rows, header: Header) -> list[Line]:
    names = {"client": header.client_name, "profile": header.profile_name}
    return [Line(row.id, row.created_at, getattr(row.sender, "value", row.sender),
                 names[getattr(row.sender, "value", row.sender)], row.body, row.photo_id is not None)
            for row in rows]


def build(export_id: str, storage: FolderStorage, settings: Settings, clock: Callable[[], datetime]) -> str:
    """Make the export's file; what happened, in a few words (for the worker's log)."""
    export = db.session.get(Export, export_id)
    if export is None:
        return "gone"
    state, fmt, conversation_id, owner_id = export.state, export.format, export.conversation_id, export.owner_id
    db.session.rollback()
    if state not in UNFINISHED:
        return f"already {state}"
    with write_transaction():
        if not start(export_id, clock()):
            return "expired before it started"
    owner = db.session.get(User, owner_id)
    header, newest = _header(conversation_id, clock())
    key = export_key(export_id, fmt)
    done, reported = 0, 0
    try:
        with storage.writer(key) as out:
            writer = _writer(fmt, out, owner, header)
            writer.begin(header)
            for rows in message_chunks(conversation_id, newest, settings.chunk_size):
                writer.add(_lines(rows, header))
                done += len(rows)
                percent = min(99, done * 100 // max(header.message_count, 1))
                if percent >= reported + settings.progress_step:
                    with write_transaction():
                        if not report_progress(export_id, percent):
                            raise _Expired()
                    reported = percent
            writer.finish()
    except _Expired:  # expired meanwhile, or another run of the job finished it first
        now_state = db.session.scalar(select(Export.state).where(Export.id == export_id))
        db.session.rollback()
        return "expired while running" if now_state != READY else f"not finished by this run: {now_state}"
    except Exception:  # noqa: BLE001 - whatever broke, the owner is told it failed, nothing half-written stays
        log.exception("export %s could not be written", export_id)
        with write_transaction():
            finish(export_id, None, None, None, clock(), settings.ttl_seconds)
        return "failed"
    size = storage.size(key)
    with write_transaction():
        finished = finish(export_id, key, size, done, clock(), settings.ttl_seconds)
    if not finished:  # expired meanwhile, or another run of the job finished it first
        now_state = db.session.scalar(select(Export.state).where(Export.id == export_id))
        db.session.rollback()
        if now_state != READY:
            storage.delete(key)
        return f"not finished by this run: {now_state}"
    return f"ready: {done} messages, {size} bytes"
