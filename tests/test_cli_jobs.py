"""``flask jobs status|failed|retry|delete`` and ``flask health`` through Flask's CLI runner."""
import pytest

from tests.support.jobs import PRIVATE_QUEUES, failed_job

QUEUE = PRIVATE_QUEUES[1]  # failed_job's
pytestmark = pytest.mark.usefixtures("private_queues")


def test_status_failed_retry_and_delete(app):
    jobs = [failed_job("one"), failed_job("two")]
    runner = app.test_cli_runner()
    status = runner.invoke(args=["jobs", "status"])
    assert status.exit_code == 0, status.output
    assert status.output.splitlines()[0].split()[:3] == ["queue", "waiting", "oldest"]
    assert "failed jobs listed: 2" in status.output and "schedulers: 0" in status.output

    listed = runner.invoke(args=["jobs", "failed"])
    assert jobs[0].id in listed.output and "RuntimeError: two" in listed.output and "2 failed job(s)" in listed.output

    assert runner.invoke(args=["jobs", "delete", jobs[0].id]).exit_code == 0
    retried = runner.invoke(args=["jobs", "retry", jobs[1].id])
    assert retried.exit_code == 0 and f"back on queue {QUEUE}" in retried.output
    again = runner.invoke(args=["jobs", "retry", jobs[1].id])
    assert again.exit_code == 1 and "has not failed" in again.output
    assert runner.invoke(args=["jobs", "delete", "no-such-job"]).exit_code == 1
    assert runner.invoke(args=["jobs", "retry"]).exit_code == 2  # neither an id nor --all
    assert "0 job(s) back" in runner.invoke(args=["jobs", "retry", "--all"]).output


def test_health_fails_without_a_scheduler_and_says_which_part(app):
    result = app.test_cli_runner().invoke(args=["health"])
    assert result.exit_code == 1
    lines = {line.split()[0]: line.split()[1] for line in result.output.splitlines()}
    assert set(lines) == {"database", "redis", "worker", "scheduler"}  # the tests' worker may run: either
    assert (lines["database"], lines["redis"], lines["scheduler"]) == ("ok", "ok", "FAILING")
