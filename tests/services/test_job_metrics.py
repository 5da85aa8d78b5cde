"""The last hour of a queue from what the workers recorded: jobs per minute, wait and run
percentiles, and the seed's targets (a job waits < 1 h, runs < 5 s, < 1 % fail for good)."""
from datetime import datetime, timezone

import pytest

from app.redis_client import get_redis, names
from app.services import job_metrics

SETTINGS = job_metrics.Settings(keep_seconds=7200, timings_kept=1000, window_seconds=3600, wait_alert_seconds=3600,
                                run_alert_seconds=5, failure_rate_alert=0.01)
NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=timezone.utc).timestamp()


def ended(queue, seconds_ago, wait, run, outcome="ok", func="app.jobs.mail.send_email", job_id=None):
    end = datetime.fromtimestamp(NOW - seconds_ago, timezone.utc)
    start = datetime.fromtimestamp(end.timestamp() - run, timezone.utc)
    enqueued = datetime.fromtimestamp(start.timestamp() - wait, timezone.utc)
    job_metrics.record(get_redis(), names(), SETTINGS, queue=queue, job_id=job_id or f"j{seconds_ago}-{wait}-{run}",
                       func_name=func, outcome=outcome, enqueued_at=enqueued, started_at=start, ended_at=end)


def figures(queue, oldest=None):
    return job_metrics.figures(get_redis(), names(), SETTINGS, queue, NOW, oldest)


def test_jobs_are_counted_in_the_minute_they_ended_and_older_ones_are_left_out(ctx):
    for seconds_ago in (10, 20, 70, 3500):
        ended("default", seconds_ago, wait=0.1, run=0.2)
    ended("default", 4000, wait=0.1, run=0.2)  # before the hour
    result = figures("default")
    assert len(result.per_minute) == 60
    # the last bar is the minute under way (12:00), empty; 10 and 20 s ago were in 11:59
    assert result.per_minute[-2:] == [2, 0] and result.per_minute[-3] == 1 and result.per_minute[0] == 1
    assert result.ended == 4 and result.failed == 0 and result.alerts == []
    assert figures("high").ended == 0  # another queue's figures are its own


def test_wait_and_run_percentiles_come_from_the_hours_jobs():
    assert job_metrics.percentile([], 0.5) is None
    assert job_metrics.percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert job_metrics.percentile([float(n) for n in range(1, 101)], 0.95) == 95.0


def test_percentiles_of_a_queue(ctx):
    for n in range(1, 21):
        ended("low", n, wait=n / 10, run=n / 100)
    result = figures("low")
    assert result.wait_p50 == pytest.approx(1.0) and result.wait_p95 == pytest.approx(1.9)
    assert result.run_p50 == pytest.approx(0.10) and result.run_p95 == pytest.approx(0.19)


def test_a_retried_attempt_is_not_an_ended_job_nor_a_failure(ctx):
    ended("high", 5, 0.1, 0.1, outcome="retried")
    ended("high", 4, 0.1, 0.1, outcome="ok")
    result = figures("high")
    assert (result.ended, result.retried, result.failed, result.failure_rate) == (1, 1, 0, 0.0)
    assert result.alerts == []


def test_each_target_missed_is_an_alert(ctx):
    for n in range(99):
        ended("default", 30 + n, 0.1, 0.1)
    ended("default", 20, 0.1, 0.1, outcome="failed")
    assert figures("default").alerts == []  # 1 failure in 100: at the target, not past it
    ended("default", 10, 0.1, 0.1, outcome="failed")
    assert figures("default").alerts == ["failures"]

    ended("low", 10, wait=0.1, run=6.0, func="app.jobs.exports.build_export")
    slow = figures("low")
    assert slow.alerts == ["run"] and [t.func_name for t in slow.slow] == ["app.jobs.exports.build_export"]

    ended("high", 10, wait=3700, run=0.1)  # waited past the hour before it ran
    assert figures("high").alerts == ["wait"]
    waiting = datetime.fromtimestamp(NOW - 3601, timezone.utc)  # still waiting, past the hour
    assert figures("default", oldest=waiting).alerts == ["wait", "failures"]
