"""The job bench/jobs.py runs through real workers: one database round trip in the app, as the
app's own jobs do, and a failure on the first attempt for the share chosen to fail."""
from __future__ import annotations

from rq import get_current_job
from sqlalchemy import text


def work(number: int, fail_first: bool) -> int:
    from app.extensions import db
    from app.jobs.context import job_context

    with job_context():
        db.session.execute(text("SELECT 1"))
    job = get_current_job()
    if fail_first and job is not None and job.retries_left == job.meta.get("retries"):
        raise RuntimeError(f"job {number}: injected failure (first attempt)")
    return number
