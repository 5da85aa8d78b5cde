"""Background jobs through real worker processes: throughput, wait and run times, CPU per job,
with a share of jobs failing on their first attempt and retried to success.

Two phases, on a fresh database and Redis (run_setup), with ``--workers`` ``worker.py``
processes (the production worker: a work horse forked per job, the app's job context):

* ``burst``: ``--jobs`` jobs enqueued at once; the time until the last one finished gives the
  throughput (jobs per second) and the workers' CPU per job;
* ``steady``: ``--steady-jobs`` jobs enqueued at ``--steady-share`` of the burst's throughput,
  so the waits are the queue's, not a backlog's: wait and run p50/p95.

Wait and run times are the ones the workers record for the operations page (services/job_metrics),
read back with its own percentiles. Every injected failure must end in success (retried); the
summary says how many failed for good (0 expected).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
      .venv/bin/python bench/jobs.py --setup services
    .venv/bin/python bench/jobs.py --setup embedded
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_accounting import wait_for_quiet  # noqa: E402
from project import ROOT  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402

RETRIES = 3


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--setup", choices=("embedded", "services"), default="services")
    p.add_argument("--jobs", type=int, default=10_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--failing-share", type=float, default=0.01, help="jobs failing on their first attempt")
    p.add_argument("--steady-jobs", type=int, default=2000)
    p.add_argument("--steady-share", type=float, default=0.5, help="steady rate, as a share of the burst's throughput")
    p.add_argument("--timeout", type=float, default=900)
    return p.parse_args(argv)


def start_workers(count: int) -> list[subprocess.Popen]:
    env = dict(os.environ, WORKER_LOG_LEVEL="WARNING")  # the run's storage (run_setup put it there)
    return [subprocess.Popen([sys.executable, "worker.py", "--queues", "default"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(count)]


def workers_cpu(workers) -> float:
    """CPU seconds of the workers and the work horses they forked (reaped children included)."""
    import psutil

    total = 0.0
    for worker in workers:
        try:
            times = psutil.Process(worker.pid).cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def enqueue(queue, numbers, share: float) -> None:
    from rq import Retry

    every = max(1, round(1 / share)) if share > 0 else 0
    with queue.connection.pipeline() as pipe:
        for number in numbers:
            fail_first = bool(every) and number % every == 0
            queue.enqueue_call("bench.job_workload.work", args=(number, fail_first), retry=Retry(max=RETRIES, interval=0),
                               meta={"retries": RETRIES}, result_ttl=60, pipeline=pipe)
        pipe.execute()


def figures(setup: Setup, since: float) -> dict:
    from app.redis_client import get_redis, names
    from app.services import job_metrics

    with setup.app.app_context():
        settings = job_metrics.Settings.from_config(setup.app.config)
        settings = job_metrics.Settings(settings.keep_seconds, 10**6, int(time.time() - since) + 120,
                                        settings.wait_alert_seconds, settings.run_alert_seconds,
                                        settings.failure_rate_alert)
        f = job_metrics.figures(get_redis(), names(), settings, "default", time.time(), None)
    ms = lambda s: round(s * 1000, 2) if s is not None else None  # noqa: E731
    return {"ended": f.ended, "retried": f.retried, "failed_for_good": f.failed, "wait_p50_ms": ms(f.wait_p50),
            "wait_p95_ms": ms(f.wait_p95), "run_p50_ms": ms(f.run_p50), "run_p95_ms": ms(f.run_p95)}


def wait_done(total_before: int, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ended_so_far() - total_before >= count:
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {count} jobs")


def forget_figures() -> None:
    from app.redis_client import get_redis, names

    keys = list(get_redis().scan_iter(names().key("jobs", "*")))
    if keys:
        get_redis().delete(*keys)


def ended_so_far() -> int:
    """Jobs ended (done, or failed for good) as the workers recorded them."""
    from app.redis_client import get_redis, names

    total = 0
    for key in get_redis().scan_iter(names().key("jobs", "minute", "default", "*")):
        counts = get_redis().hgetall(key)
        total += int(counts.get(b"ok", 0)) + int(counts.get(b"failed", 0))
    return total


def main(argv=None) -> None:
    args = parse_args(argv)
    with Setup(args.setup) as setup:
        setup.prepare()
        from app.jobs import get_queue

        quiet = wait_for_quiet(max_wait=30)
        workers = start_workers(args.workers)
        try:
            with setup.app.app_context():
                queue = get_queue("default")
                time.sleep(3)  # the workers are up
                cpu_before = workers_cpu(workers)
                started = time.time()
                enqueue(queue, range(args.jobs), args.failing_share)
                wait_done(0, args.jobs, args.timeout)
                burst_seconds = time.time() - started
                burst_cpu = workers_cpu(workers) - cpu_before
                burst = {"jobs": args.jobs, "seconds": round(burst_seconds, 2),
                         "jobs_per_second": round(args.jobs / burst_seconds, 1),
                         "worker_cpu_ms_per_job": round(burst_cpu / args.jobs * 1000, 2), **figures(setup, started)}

                rate = burst["jobs_per_second"] * args.steady_share
                forget_figures()  # the steady phase's percentiles are its own
                before = ended_so_far()
                steady_started = time.time()
                for number in range(args.steady_jobs):
                    enqueue(queue, [args.jobs + number], args.failing_share)
                    pause = steady_started + (number + 1) / rate - time.time()
                    if pause > 0:
                        time.sleep(pause)
                wait_done(before, args.steady_jobs, args.timeout)
                steady = {"jobs": args.steady_jobs, "rate_per_second": round(rate, 1),
                          **figures(setup, steady_started)}
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
        record = {"when": now_iso(), "machine": machine(), "setup": setup.describe(), "workers": args.workers,
                  "failing_share": args.failing_share, "quiet_before": quiet, "burst": burst, "steady": steady}
        path = write_result("jobs", args.setup, record)
        print(f"jobs ({args.setup}, {args.workers} workers): burst {args.jobs} in {burst['seconds']} s = "
              f"{burst['jobs_per_second']} jobs/s, {burst['worker_cpu_ms_per_job']} ms worker CPU/job, "
              f"{burst['retried']} retried, {burst['failed_for_good']} failed for good; steady at "
              f"{steady['rate_per_second']}/s: wait p50/p95 {steady['wait_p50_ms']}/{steady['wait_p95_ms']} ms, "
              f"run p50/p95 {steady['run_p50_ms']}/{steady['run_p95_ms']} ms -> {path}")
        print(json.dumps(record["steady"]))


if __name__ == "__main__":
    main()
