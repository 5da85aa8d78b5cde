"""``LOG_FORMAT=json``: one JSON object per line; a request's line carries its id (given by the
proxy when it looks like one, else made), the user's id, route, status and duration, and so does
every line logged during it; a job's line carries its id, queue, attempt, outcome and duration."""
import io
import json
import logging

import redis

from rq.job import Job

from app import create_app, logs
from app.config import TestConfig
from app.jobs.outcomes import fields
from app.models import Role
from tests.support.factories import make_user
from tests.support.http import login


class JsonConfig(TestConfig):
    LOG_FORMAT = "json"
    REQUEST_LOG = True


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_request_and_job_lines_are_json_with_their_fields(app):
    json_app = create_app(JsonConfig)
    buffer = io.StringIO()
    logs.configure("json", stream=buffer)
    try:
        user = make_user(Role.ADMIN)
        client = json_app.test_client()
        login(client, user.email)
        buffer.truncate(0)
        buffer.seek(0)
        response = client.get("/admin/operations", headers={"X-Request-ID": "edge-1234567890"})
        assert response.headers["X-Request-ID"] == "edge-1234567890"
        (line,) = [entry for entry in lines(buffer) if entry["logger"] == "switchboard.requests"]
        assert line["request_id"] == "edge-1234567890" and line["user_id"] == user.id
        assert line["route"] == "/admin/operations" and line["status"] == 200 and line["duration_ms"] > 0
        assert line["level"] == "info" and line["timestamp"].endswith("Z")

        made = client.get("/health/live", headers={"X-Request-ID": "no good"}).headers["X-Request-ID"]
        assert made != "no good" and len(made) == 32  # not an id: one is made

        job = Job.create("app.jobs.mail.send_email", id="abc", connection=redis.Redis.from_url(app.config["REDIS_URL"]),
                         origin="high")
        logging.getLogger("switchboard.jobs").info("send_email: sent", extra=fields(job, "ok", 0.0123))
        job_line = lines(buffer)[-1]
        assert job_line["job_id"] == "abc" and job_line["outcome"] == "ok" and job_line["duration_ms"] == 12.3
        assert job_line["attempt"] == 1 and job_line["queue"] == "high" and job_line["event"] == "send_email: sent"
    finally:
        logs.configure("text")
