"""Expired exports lose their file. Idempotent: an export is marked expired by compare-and-set
after its file is removed (a crash between the two leaves the mark for the next pass, never a
file nobody will remove), and a second pass finds nothing to do. An export that became ready meanwhile (its expiry moved on)
is left alone."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from ...database import write_transaction
from ...extensions import db
from ...models import Export
from ...models.exports import EXPIRED
from .. import events
from ..storage import FolderStorage


def remove_expired(storage: FolderStorage, now: datetime, batch: int = 500) -> int:
    """Remove the files of exports past ``expires_at`` and mark them expired; how many were marked."""
    t = Export.__table__
    marked = 0
    while True:
        rows = db.session.execute(select(t.c.id, t.c.file_key).where(t.c.expires_at <= now, t.c.state != EXPIRED)
                                  .order_by(t.c.expires_at).limit(batch)).all()
        db.session.rollback()
        if not rows:
            return marked
        for row in rows:
            if row.file_key:
                storage.delete(row.file_key)
        with write_transaction():
            for row in rows:
                if db.session.execute(update(t).where(t.c.id == row.id, t.c.state != EXPIRED,
                                                                 t.c.expires_at <= now)
                                      .values(state=EXPIRED, file_key=None)).rowcount:
                    events.record(events.ExportChanged(row.id))
                    marked += 1
        if len(rows) < batch:
            return marked
