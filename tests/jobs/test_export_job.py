"""An export asked for over HTTP is made by the real RQ worker: its owner's channel receives the
entry as it moves on (running, then ready with its link) in the owner's language, and nobody
else's does; the periodic cleanup, run by the worker too, removes expired files once."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.jobs.exports import build_export, remove_expired_exports
from app.models import Export, Role
from app.redis_client import get_redis, names
from tests.support.context import app_context
from tests.support.factories import make_user
from tests.support.history import long_conversation
from tests.support.http import login
from tests.support.processes import run_job
from tests.support.waiting import first_published


def _export(export_id: str) -> Export:
    with app_context():
        db.session.expire_all()
        export = db.session.get(Export, export_id)
        db.session.expunge(export)
        return export


def test_the_worker_makes_the_export_and_pushes_it_to_its_owner(app, client, rq_worker):
    conversation = long_conversation(120, client_locale="de")
    admin = make_user(Role.ADMIN, online=True)
    csrf = login(client, conversation.client.email)
    with app_context():
        r = get_redis()
        owner_channel, admin_channel = names().user_channel(conversation.client.id), names().user_channel(admin.id)
    owner, other = r.pubsub(ignore_subscribe_messages=True), r.pubsub(ignore_subscribe_messages=True)
    owner.subscribe(owner_channel)
    other.subscribe(admin_channel)
    try:
        response = client.post(f"/conversations/{conversation.conversation_id}/exports", data={"format": "json"},
                               headers={"X-CSRFToken": csrf, "HX-Request": "true"})
        assert response.status_code == 200
        export_id = re.search(r'id="export-([A-Za-z0-9_-]{22})"', response.get_data(as_text=True)).group(1)
        running = first_published(owner, f'id="export-{export_id}"', timeout=20)
        ready = first_published(owner, f'href="/exports/{export_id}/file"', timeout=20)
        assert other.get_message(timeout=0.5) is None  # nobody else hears of it
    finally:
        owner.close()
        other.close()
    assert 'hx-swap-oob="true"' in running and "Wird erstellt…" in running  # German, running
    assert "Herunterladen" in ready and "hx-trigger" not in ready
    export = _export(export_id)
    assert export.state == "ready" and export.message_count == 120
    download = client.get(f"/exports/{export_id}/file")
    assert json.loads(download.data)["message_count"] == 120
    assert run_job("low", build_export, export_id) == f"export {export_id}: already ready"  # idempotent


def test_the_periodic_cleanup_removes_expired_files_once(app, client, rq_worker):
    conversation = long_conversation(3)
    csrf = login(client, conversation.client.email)
    response = client.post(f"/conversations/{conversation.conversation_id}/exports", data={"format": "csv"},
                           headers={"X-CSRFToken": csrf, "HX-Request": "true"})
    export_id = re.search(r'id="export-([A-Za-z0-9_-]{22})"', response.get_data(as_text=True)).group(1)
    from tests.support.waiting import wait_until

    wait_until(lambda: _export(export_id).state == "ready", timeout=20)
    path = Path(app.config["EXPORT_DIR"]) / _export(export_id).file_key
    assert path.is_file()
    with app_context():
        with write_transaction():
            db.session.execute(update(Export.__table__).where(Export.__table__.c.id == export_id)
                               .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert run_job("low", remove_expired_exports) == 1
    assert not path.exists() and _export(export_id).state == "expired"
    assert run_job("low", remove_expired_exports) == 0
    assert client.get(f"/exports/{export_id}/file").status_code == 410
