"""Conversation exports over HTTP: asking (the conversation's client, admins; a bad format 400,
someone else's conversation 403, each in the asker's language), the panel, and the file: served
as an attachment, never cached, to its owner alone, refused with 410 once expired."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Export, Role
from app.services.exports import building
from app.services.exports.files import storage_from
from tests.support.context import app_context
from tests.support.factories import count, make_user
from tests.support.history import long_conversation
from tests.support.http import login


def ask(client, csrf, conversation_id, fmt="csv", **headers):
    return client.post(f"/conversations/{conversation_id}/exports", data={"format": fmt},
                       headers={"X-CSRFToken": csrf, "HX-Request": "true",
                                "X-Error-Target": f"#export-error-c{conversation_id}", **headers})


def export_id_of(html: str) -> str:
    return re.search(r'<li class="export [^"]*" id="export-([A-Za-z0-9_-]+)"', html).group(1)


def built(app, export_id: str) -> None:
    """The job's work, done here (the worker's own run is tests/jobs/test_export_job.py); a worker
    left running by another test may take the queued job too: one of the two finishes it."""
    with app_context():
        outcome = building.build(export_id, storage_from(app.config), building.Settings.from_config(app.config),
                                 utcnow)
        assert outcome.startswith("ready") or outcome == "not finished by this run: ready", outcome
        assert db.session.get(Export, export_id).state == "ready"


@pytest.fixture
def conversation():
    return long_conversation(4, client_locale="en")


def test_the_client_asks_follows_and_downloads_their_export(app, client, conversation):
    csrf = login(client, conversation.client.email)
    page = client.get(f"/profiles/{conversation.profile.id}").get_data(as_text=True)
    assert f'id="exports-c{conversation.conversation_id}"' in page
    panel = client.get(f"/conversations/{conversation.conversation_id}/exports")
    assert panel.status_code == 200 and 'value="pdf"' in panel.get_data(as_text=True)
    response = ask(client, csrf, conversation.conversation_id, "csv")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    export_id = export_id_of(html)
    assert "Queued…" in html and f'hx-get="/exports/{export_id}"' in html
    assert client.get(f"/exports/{export_id}/file").status_code == 404  # not made yet
    built(app, export_id)
    status = client.get(f"/exports/{export_id}").get_data(as_text=True)
    assert f'href="/exports/{export_id}/file"' in status and "hx-trigger" not in status
    download = client.get(f"/exports/{export_id}/file")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Content-Disposition"].endswith(".csv")
    assert download.headers["Cache-Control"] == "private, no-store"
    assert download.mimetype == "text/csv"
    assert download.data.startswith(b"\xef\xbb\xbfmessage_id,sent_at,sender,name,body,photo")


def test_a_client_exporting_someone_elses_conversation_is_refused_in_their_language(app, client, conversation):
    csrf = login(client, make_user(locale="fr").email)
    response = ask(client, csrf, conversation.conversation_id)
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == f"#export-error-c{conversation.conversation_id}"
    assert "Vous ne pouvez pas exporter cette conversation." in response.get_data(as_text=True)
    assert client.get(f"/conversations/{conversation.conversation_id}/exports").status_code == 403
    assert ask(client, csrf, 987_654).status_code == 404
    assert count(Export) == 0


def test_moderators_do_not_export(app, client, conversation):
    csrf = login(client, conversation.moderator.email)
    assert ask(client, csrf, conversation.conversation_id).status_code == 403
    assert count(Export) == 0


@pytest.mark.parametrize("fmt", ["", "xlsx", "PDF", "../csv", "csv;json"])
def test_a_bad_format_is_400_in_the_panel(app, client, conversation, fmt):
    csrf = login(client, conversation.client.email)
    response = ask(client, csrf, conversation.conversation_id, fmt)
    assert response.status_code == 400
    assert "Choose PDF, CSV or JSON." in response.get_data(as_text=True)
    assert count(Export) == 0


def test_an_admin_exports_any_conversation_from_its_assignments_page(app, client, conversation):
    csrf = login(client, make_user(Role.ADMIN).email)
    page = client.get(f"/admin/assignments?conversation={conversation.conversation_id}").get_data(as_text=True)
    assert f'id="exports-c{conversation.conversation_id}"' in page
    response = ask(client, csrf, conversation.conversation_id, "json")
    assert response.status_code == 200
    built(app, export_id_of(response.get_data(as_text=True)))
    assert client.get(f"/exports/{export_id_of(response.get_data(as_text=True))}/file").json["message_count"] == 4


def test_an_export_is_downloaded_by_its_owner_alone(app, client, conversation):
    csrf = login(client, conversation.client.email)
    export_id = export_id_of(ask(client, csrf, conversation.conversation_id, "pdf").get_data(as_text=True))
    built(app, export_id)
    for someone in (make_user(locale="de"), make_user(Role.ADMIN, locale="de"), conversation.moderator):
        other = app.test_client()
        login(other, someone.email)
        for url in (f"/exports/{export_id}/file", f"/exports/{export_id}"):
            response = other.get(url)
            assert response.status_code == 403, (someone.role, url)
            assert b"%PDF" not in response.data
        if someone.locale == "de":
            assert "Dieser Export gehört Ihnen nicht." in other.get(f"/exports/{export_id}/file").get_data(as_text=True)
    assert client.get("/exports/not-an-export/file").status_code == 404
    assert client.get(f"/exports/{export_id}/file").data.startswith(b"%PDF-")


def test_an_expired_export_is_410_with_a_message(app, client, conversation):
    csrf = login(client, conversation.client.email)
    export_id = export_id_of(ask(client, csrf, conversation.conversation_id, "csv").get_data(as_text=True))
    built(app, export_id)
    with app_context():
        with write_transaction():
            db.session.execute(update(Export.__table__).where(Export.__table__.c.id == export_id)
                               .values(expires_at=utcnow() - timedelta(seconds=1)))
    response = client.get(f"/exports/{export_id}/file")
    assert response.status_code == 410
    assert "This export has expired: its file was removed. Ask for a new one." in response.get_data(as_text=True)
    assert "Expired: ask for a new one." in client.get(f"/exports/{export_id}").get_data(as_text=True)


def test_asking_needs_the_csrf_token(app, client, conversation):
    login(client, conversation.client.email)
    response = client.post(f"/conversations/{conversation.conversation_id}/exports", data={"format": "csv"})
    assert response.status_code == 400 and count(Export) == 0
