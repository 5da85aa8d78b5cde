"""The operations page: queues against the targets, workers, periodic jobs, failed jobs (retry,
delete) and a job's detail. The live part asks for itself again every OPERATIONS_REFRESH_SECONDS
while the page is open."""
from __future__ import annotations

import time

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ...redis_client import get_redis, names
from ...services import job_metrics, operations
from ...services.errors import ServiceError
from ..params import optional_id
from . import bp


def _overview():
    config = current_app.config
    return operations.overview(current_user, get_redis(), names(), job_metrics.Settings.from_config(config),
                               config["RQ_QUEUES"], time.time(), config["FAILED_JOBS_PAGE_SIZE"])


def _context() -> dict:
    config = current_app.config
    return {"ops": _overview(), "settings": job_metrics.Settings.from_config(config),
            "refresh_seconds": config["OPERATIONS_REFRESH_SECONDS"], "page_size": config["FAILED_JOBS_PAGE_SIZE"]}


@bp.route("/operations")
def operations_page():
    return render_template("admin/operations.html", **_context())


@bp.route("/operations/live")
def operations_live():
    return render_template("admin/operations/_live.html", **_context())


@bp.route("/operations/failed")
def failed_jobs():
    config = current_app.config
    page = max(1, optional_id(request.args.get("page")) or 1)
    rows, total = operations.failed_jobs(current_user, get_redis(), config["RQ_QUEUES"], page,
                                         config["FAILED_JOBS_PAGE_SIZE"])
    return render_template("admin/operations/failed.html", rows=rows, total=total, page=page,
                           page_size=config["FAILED_JOBS_PAGE_SIZE"])


@bp.route("/operations/jobs/<job_id>")
def job_detail(job_id: str):
    return render_template("admin/operations/job.html", job=operations.job_detail(current_user, get_redis(), job_id))


def _refused(exc: ServiceError):
    """The page the form was on, saying why, with the error's status (nothing was changed)."""
    flash(str(exc.message), "error")
    if request.form.get("back") == "failed":
        return failed_jobs(), exc.status_code
    return render_template("admin/operations.html", **_context()), exc.status_code


def _back():
    return redirect(request.form.get("back") == "failed" and url_for("admin.failed_jobs")
                    or url_for("admin.operations_page"))


def _on_failed_job(action, job_id: str, done: str):
    try:
        action(current_user, get_redis(), job_id)
    except ServiceError as exc:
        return _refused(exc)
    flash(done, "success")
    return _back()


@bp.route("/operations/jobs/<job_id>/retry", methods=["POST"])
def job_retry(job_id: str):
    return _on_failed_job(operations.retry, job_id, _("The job is back on its queue."))


@bp.route("/operations/jobs/<job_id>/delete", methods=["POST"])
def job_delete(job_id: str):
    return _on_failed_job(operations.delete, job_id, _("The failed job was deleted."))


@bp.route("/operations/failed/retry", methods=["POST"])
def failed_retry_all():
    count = operations.retry_all(current_user, get_redis(), current_app.config["RQ_QUEUES"])
    flash(ngettext("%(num)d failed job is back on its queue.", "%(num)d failed jobs are back on their queues.",
                   count), "success")
    return _back()
