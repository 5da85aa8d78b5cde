"""``flask jobs`` and ``flask health``: background jobs and the deployment's health."""
from __future__ import annotations

import json
import time

import click
from flask import Flask

from ..redis_client import get_redis, names
from ..services import health, job_metrics, operations
from ..services.errors import ServiceError


def seconds(value: float | None) -> str:
    """A duration for the terminal: ms below a second, s below two minutes, then min."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def init_app(app: Flask) -> None:
    @app.cli.group("jobs")
    def jobs_group():
        """Background jobs: queues, workers, failed jobs."""

    def _call(fn, *args):
        try:
            return fn(None, get_redis(), *args)
        except ServiceError as exc:
            raise click.ClickException(str(exc.message)) from None

    @jobs_group.command("status")
    def jobs_status():
        """Each queue against the targets (last hour), the workers, the periodic jobs."""
        config = app.config
        settings = job_metrics.Settings.from_config(config)
        ops = operations.overview(None, get_redis(), names(), settings, config["RQ_QUEUES"], time.time(), 0)
        click.echo(f"{'queue':<8} {'waiting':>7} {'oldest':>8} {'running':>7} {'ended/h':>7} {'failed':>6} "
                   f"{'retried':>7} {'wait p50/p95':>17} {'run p50/p95':>17}")
        for q in ops.queues:
            click.echo(f"{q.name:<8} {q.depth:>7} {seconds(q.oldest_wait):>8} {q.running:>7} {q.ended:>7} "
                       f"{q.failed:>6} {q.retried:>7} {seconds(q.wait_p50) + ' / ' + seconds(q.wait_p95):>17} "
                       f"{seconds(q.run_p50) + ' / ' + seconds(q.run_p95):>17}")
        for queue, alert in ops.alerts:
            click.echo(f"ALERT {queue}: {alert}")
        click.echo(f"workers: {len(ops.workers)}" + "".join(
            f"\n  {w.name} {w.hostname} pid {w.pid} {w.state} {w.current_job or ''}" for w in ops.workers))
        click.echo(f"schedulers: {ops.schedulers_alive}; periodic jobs: {len(ops.periodic)}; "
                   f"failed jobs listed: {ops.failed_total}")

    @jobs_group.command("failed")
    @click.option("--page", default=1, type=click.IntRange(min=1))
    def jobs_failed(page):
        """The failed jobs, the latest first (50 a page)."""
        rows, total = _call(operations.failed_jobs, app.config["RQ_QUEUES"], page, 50)
        for row in rows:
            ended = row.ended_at.strftime("%Y-%m-%d %H:%M:%S") if row.ended_at else "-"
            click.echo(f"{row.id}  {ended}  {row.queue:<7}  {row.description}\n    {row.error}")
        click.echo(f"{total} failed job(s)")

    @jobs_group.command("retry")
    @click.argument("job_id", required=False)
    @click.option("--all", "every", is_flag=True, help="every failed job")
    def jobs_retry(job_id, every):
        """Put a failed job (or --all) back on its queue."""
        if every == bool(job_id):
            raise click.UsageError("name one job, or --all")
        if every:
            click.echo(f"{_call(operations.retry_all, app.config['RQ_QUEUES'])} job(s) back on their queues")
        else:
            job = _call(operations.retry, job_id)
            click.echo(f"job {job.id} back on queue {job.origin}")

    @jobs_group.command("delete")
    @click.argument("job_id")
    def jobs_delete(job_id):
        """Forget a failed job."""
        _call(operations.delete, job_id)
        click.echo(f"job {job_id} deleted")

    @app.cli.command("health")
    @click.option("--json", "as_json", is_flag=True, help="the same JSON as /health/ready")
    def health_command(as_json):
        """Database, Redis, a worker and the scheduler: exit status 1 when one fails."""
        report = health.readiness(get_redis(), app.config["HEALTH_WORKER_STALE_SECONDS"])
        if as_json:
            click.echo(json.dumps(report.as_dict()))
        else:
            for check in report.checks:
                click.echo(f"{check.name:<10} {'ok' if check.ok else 'FAILING':<8} {check.detail}")
        if not report.ok:
            raise SystemExit(1)
