"""Conversation exports, service by service, with real files: what each format holds (CSV with its
byte order mark and formulas neutralised, JSON in its documented schema, a PDF that parses and
prints accents, Greek and Cyrillic, with placeholders for what its font lacks), chunked writing
and its progress, expiry, and who may ask for and have an export."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Export, Message, Role
from app.models.chat import Sender
from app.services import events
from app.services.errors import Forbidden, Gone, NotFound, ServiceError, TooMany
from app.services.exports import access, building, cleanup, pdf
from app.services.exports.formats import CSV_COLUMNS, neutralised
from app.services.storage import FolderStorage
from tests.support.factories import make_user, token
from tests.support.history import long_conversation
from tests.support.stored import english, files

MIXED = [
    (Sender.CLIENT, "Bonjour, ça va ? Été à Genève, naïve façon."),
    (Sender.PROFILE, "Привет! Как дела? Ελλάδα είναι ωραία."),
    (Sender.CLIENT, "=HYPERLINK(\"http://evil.test\",\"click\")"),
    (Sender.PROFILE, "+33 6 12 34 56 78"),
    (Sender.CLIENT, "-2+3"),
    (Sender.CLIENT, "@SUM(A1:A2)"),
    (Sender.PROFILE, "Emoji 😀 and 🦊 and 👍🏽 and ❤️ then 你好世界"),
    (Sender.CLIENT, "x" * 400),  # one word longer than a line
    (Sender.CLIENT, "line one\nline two, \"quoted\", comma"),
]


@pytest.fixture
def storage(tmp_path):
    return FolderStorage(tmp_path / "exports")


@pytest.fixture
def settings(app):
    return building.Settings.from_config(app.config)


@pytest.fixture
def limits(app):
    return access.Limits.from_config(app.config)


def conversation_with(bodies, client_locale="en"):
    """A conversation (the first message "message 001"), then ``bodies`` (sender, text) in order."""
    long = long_conversation(1, client_locale=client_locale)
    with write_transaction():
        start = utcnow() - timedelta(minutes=len(bodies))
        for index, (sender, text) in enumerate(bodies):
            db.session.add(Message(conversation_id=long.conversation_id, sender=sender, body=text,
                                   client_token=token(), created_at=start + timedelta(minutes=index),
                                   author_id=long.client.id if sender is Sender.CLIENT else long.moderator.id))
    db.session.remove()
    return long


def exported(long, fmt, storage, settings, limits, owner=None):
    """Ask for an export as the conversation's client (or ``owner``) and build it; its row and bytes."""
    owner = owner or long.client
    with write_transaction():
        asked = access.request_export(db.session.merge(owner), long.conversation_id, fmt, utcnow(), limits)
    outcome = building.build(asked.export_id, storage, settings, utcnow)
    assert outcome.startswith("ready"), outcome
    db.session.remove()
    export = db.session.get(Export, asked.export_id)
    return export, storage.read(export.file_key)


# -- formats -------------------------------------------------------------------------------------

def test_csv_has_a_bom_every_message_in_order_and_no_cell_a_spreadsheet_would_run(ctx, storage, settings, limits):
    long = conversation_with(MIXED)
    export, data = exported(long, "csv", storage, settings, limits)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS
    bodies = [row[4] for row in rows[1:]]
    assert len(bodies) == len(MIXED) + 1 == export.message_count
    assert bodies[1] == MIXED[0][1] and bodies[2] == MIXED[1][1]  # accents, Cyrillic, Greek as typed
    assert bodies[3] == "'" + MIXED[2][1]
    assert bodies[4] == "'+33 6 12 34 56 78" and bodies[5] == "'-2+3" and bodies[6] == "'@SUM(A1:A2)"
    assert bodies[7] == MIXED[6][1]  # emoji and CJK kept
    assert bodies[9] == MIXED[8][1]  # newline, quotes and comma round-trip
    senders = [(row[2], row[3]) for row in rows[1:3]]
    assert senders == [("client", "Julien"), ("client", "Julien")]
    assert ("profile", "Camille") == (rows[3][2], rows[3][3])
    assert long.moderator.display_name not in data.decode("utf-8")  # who wrote as the profile stays unknown
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows[1:] for cell in row)


def test_neutralised_prefixes_only_what_a_spreadsheet_reads_as_a_formula():
    assert [neutralised(c) for c in ("=1", "+1", "-1", "@a", "\tx", "\rx", "a=1", "", "1-2")] == \
        ["'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "a=1", "", "1-2"]


def test_json_follows_its_documented_schema(ctx, storage, settings, limits):
    long = conversation_with(MIXED[:3])
    export, data = exported(long, "json", storage, settings, limits)
    document = json.loads(data.decode("utf-8"))
    assert list(document) == ["format", "version", "exported_at", "conversation", "messages", "message_count"]
    assert (document["format"], document["version"]) == ("switchboard.conversation", 1)
    assert document["exported_at"].endswith("Z")
    assert document["conversation"] == {
        "id": long.conversation_id, "started_at": document["conversation"]["started_at"],
        "client": {"id": long.client.id, "name": "Julien"}, "profile": {"id": long.profile.id, "name": "Camille"}}
    assert document["message_count"] == len(document["messages"]) == 4
    first, second = document["messages"][1:3]
    assert list(first) == ["id", "sent_at", "sender", "name", "body", "photo"]
    assert (first["sender"], first["name"], first["body"], first["photo"]) == ("client", "Julien", MIXED[0][1], False)
    assert (second["sender"], second["name"], second["body"]) == ("profile", "Camille", MIXED[1][1])
    assert [m["id"] for m in document["messages"]] == sorted(m["id"] for m in document["messages"])
    assert "Привет" in data.decode("utf-8")  # written as UTF-8, not \u escapes


def test_json_of_a_conversation_without_messages_is_valid(ctx, storage, settings, limits):
    long = long_conversation(1)
    with write_transaction():
        db.session.execute(Message.__table__.delete())
    export, data = exported(long, "json", storage, settings, limits)
    document = json.loads(data)
    assert document["messages"] == [] and document["message_count"] == 0


def test_pdf_parses_and_prints_accents_greek_cyrillic_with_placeholders_for_the_rest(ctx, storage, settings, limits):
    from pypdf import PdfReader

    long = conversation_with(MIXED, client_locale="fr")
    export, data = exported(long, "pdf", storage, settings, limits)
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    assert "Conversation entre Julien et Camille" in flat  # the owner's language
    assert "ça va ? Été à Genève, naïve façon." in flat
    assert "Привет! Как дела?" in flat and "Ελλάδα είναι ωραία." in flat
    assert "😀" in flat  # DejaVu Sans draws some emoji
    assert "[fox face]" in flat and "[thumbs up sign]" in flat  # and not these
    assert "□□□□" in flat  # 你好世界: the font has no CJK
    assert "🦊" not in text and "你" not in text
    assert long.moderator.display_name not in text
    assert "Page 1 sur" in flat


def test_legible_replaces_only_what_the_font_lacks():
    assert pdf.legible("Ça, Ω, Ж, ½, ← ok") == "Ça, Ω, Ж, ½, ← ok"
    assert pdf.legible("hi 👋🏽!") == "hi [waving hand sign]!"
    assert pdf.legible("❤️ 日本") == "❤ □□"  # the heart is in the font; its variation selector is dropped
    assert pdf.legible("a\x00b\u200dc") == "abc"


# -- writing in chunks, progress, once -----------------------------------------------------------

def test_a_long_conversation_is_read_in_chunks_and_its_progress_recorded(ctx, storage, limits, app):
    long = long_conversation(95)
    settings = building.Settings(chunk_size=10, progress_step=20, ttl_seconds=3600)
    seen: list[list] = []
    events.subscribe(seen.append)
    try:
        export, data = exported(long, "csv", storage, settings, limits)
    finally:
        events.unsubscribe(seen.append)
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))[1:]
    assert [row[4] for row in rows] == [long.body(i) for i in range(1, 96)]
    assert export.state == "ready" and export.progress == 100 and export.message_count == 95
    changed = [e for batch in seen for e in batch if isinstance(e, events.ExportChanged)]
    assert len(changed) == 1 + 4 + 1  # taken, 21/42/63/84 %, ready
    assert files(storage) == [export.file_key]


def test_a_second_run_of_the_job_changes_nothing(ctx, storage, settings, limits):
    long = long_conversation(3)
    export, data = exported(long, "pdf", storage, settings, limits)
    assert building.build(export.id, storage, settings, utcnow) == "already ready"
    assert building.build("no-such-export", storage, settings, utcnow) == "gone"
    assert storage.read(export.file_key) == data


def test_two_runs_at_once_leave_the_file_of_the_one_that_finished(ctx, storage, settings, limits):
    """Two workers run the job at once (a retry while the first was only slow): the one that
    finishes second must not remove the file the first one's ready row names."""
    long = long_conversation(3)
    with write_transaction():
        asked = access.request_export(db.session.merge(long.client), long.conversation_id, "csv", utcnow(), limits)
    calls = []

    def clock():
        """This run's clock; when it asks the time to finish, the other run has just finished."""
        calls.append(1)
        if len(calls) == 3:
            assert building.build(asked.export_id, storage, settings, utcnow).startswith("ready")
        return utcnow()

    assert building.build(asked.export_id, storage, settings, clock) == "not finished by this run: ready"
    db.session.remove()
    export = db.session.get(Export, asked.export_id)
    assert export.state == "ready" and storage.read(export.file_key).decode("utf-8-sig").count("\n") >= 3


def test_a_write_that_fails_marks_the_export_failed_and_leaves_no_file(ctx, tmp_path, settings, limits):
    long = long_conversation(3)
    (tmp_path / "not-a-folder").write_text("a file where the folder should be")
    broken = FolderStorage(tmp_path / "not-a-folder")
    with write_transaction():
        asked = access.request_export(db.session.merge(long.client), long.conversation_id, "json", utcnow(), limits)
    assert building.build(asked.export_id, broken, settings, utcnow) == "failed"
    db.session.remove()
    export = db.session.get(Export, asked.export_id)
    assert export.state == "failed" and export.file_key is None


# -- expiry --------------------------------------------------------------------------------------

def test_expired_exports_lose_their_file_once_and_the_download_is_refused(ctx, storage, settings, limits):
    long = long_conversation(3)
    old_id = exported(long, "csv", storage, settings, limits)[0].id
    fresh_id = exported(long, "json", storage, settings, limits)[0].id
    old, fresh = db.session.get(Export, old_id), db.session.get(Export, fresh_id)
    client = db.session.merge(long.client)
    later = old.expires_at + timedelta(seconds=1)
    with pytest.raises(Gone) as gone:  # before the cleanup ran: refused all the same
        access.export_file(client, old.id, storage, later)
    assert gone.value.status_code == 410 and "expired" in english(gone.value.message)
    with write_transaction():
        db.session.execute(update(Export.__table__).where(Export.__table__.c.id == fresh.id)
                           .values(expires_at=later + timedelta(hours=1)))
    assert cleanup.remove_expired(storage, later) == 1
    assert cleanup.remove_expired(storage, later) == 0  # idempotent
    db.session.remove()
    old, fresh = db.session.get(Export, old_id), db.session.get(Export, fresh_id)
    assert old.state == "expired" and old.file_key is None
    assert files(storage) == [fresh.file_key]
    assert access.export_file(db.session.merge(long.client), fresh_id, storage, later).path.is_file()


def test_an_export_that_expires_while_running_is_not_revived(ctx, storage, settings, limits):
    long = long_conversation(2)
    with write_transaction():
        asked = access.request_export(db.session.merge(long.client), long.conversation_id, "csv", utcnow(), limits)
    with write_transaction():
        assert building.start(asked.export_id, utcnow())
    export = db.session.get(Export, asked.export_id)
    assert cleanup.remove_expired(storage, export.expires_at) == 1
    with write_transaction():
        assert not building.finish(asked.export_id, "ab/file.csv", 10, 2, utcnow(), 3600)
    assert building.build(asked.export_id, storage, settings, utcnow) == "already expired"


# -- who may ask, who may have -------------------------------------------------------------------

def test_only_the_conversations_client_and_admins_may_export_it(ctx, limits):
    long = long_conversation(2)
    other_client, admin = make_user(locale="fr"), make_user(Role.ADMIN)
    with pytest.raises(Forbidden):
        access.request_export(db.session.merge(other_client), long.conversation_id, "pdf", utcnow(), limits)
    with pytest.raises(Forbidden):
        access.request_export(db.session.merge(long.moderator), long.conversation_id, "pdf", utcnow(), limits)
    with pytest.raises(NotFound):
        access.request_export(db.session.merge(admin), 987_654, "pdf", utcnow(), limits)
    with write_transaction():  # a write, as the view makes it (on SQLite the shared worker may be writing)
        asked = access.request_export(db.session.merge(admin), long.conversation_id, "pdf", utcnow(), limits)
    assert asked.panel.exports[0].id == asked.export_id and asked.panel.exports[0].owner_id == admin.id


@pytest.mark.parametrize("fmt", [None, "", "xlsx", "PDF", "pdf "])
def test_a_format_other_than_pdf_csv_json_is_refused(ctx, limits, fmt):
    long = long_conversation(1)
    with pytest.raises(ServiceError) as refused:
        access.request_export(db.session.merge(long.client), long.conversation_id, fmt, utcnow(), limits)
    assert refused.value.status_code == 400 and "PDF, CSV or JSON" in english(refused.value.message)


def test_an_export_is_served_to_its_owner_alone(ctx, storage, settings, limits):
    long = long_conversation(2)
    export, _ = exported(long, "csv", storage, settings, limits)
    for someone in (make_user(), make_user(Role.ADMIN), long.moderator):
        with pytest.raises(Forbidden):
            access.export_file(db.session.merge(someone), export.id, storage, utcnow())
    for bad in ("", "x" * 40, "../etc/passwd", "nope"):
        with pytest.raises(NotFound):
            access.export_file(db.session.merge(long.client), bad, storage, utcnow())
    assert access.export_file(db.session.merge(long.client), export.id, storage, utcnow()).download_name.endswith(".csv")


def test_one_person_has_few_exports_in_the_making_at_once(ctx, app, limits):
    long = long_conversation(1)
    client = db.session.merge(long.client)
    with write_transaction():
        for _ in range(limits.max_unfinished):
            access.request_export(client, long.conversation_id, "csv", utcnow(), limits)
    with pytest.raises(TooMany):
        access.request_export(client, long.conversation_id, "csv", utcnow(), limits)
