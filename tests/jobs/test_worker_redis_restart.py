"""Redis restarting under the worker and the scheduler (a private redis-server with its
append-only file, restarted): neither process ends, and the periodic jobs run again after it."""
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis
from rq.job import Job

from tests.support.processes import ROOT, child_env, dies_with_the_tests, free_port, redis_server, stop
from tests.support.waiting import wait_until



def _ran_since(connection, job_id: str, since: datetime) -> bool:
    try:
        ended = Job.fetch(job_id, connection=connection).ended_at
    except Exception:  # noqa: BLE001 - not there yet
        return False
    return ended is not None and ended.replace(tzinfo=timezone.utc) > since


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_the_worker_and_the_scheduler_outlive_a_redis_restart_and_the_periodic_jobs_run_again(app):
    folder, port = tempfile.mkdtemp(prefix="switchboard-redis-"), free_port()
    server = redis_server(port, folder, appendonly=True)
    connection = redis.Redis(port=port)
    env = child_env(REDIS_URL=f"redis://127.0.0.1:{port}/0", INACTIVITY_CHECK_SECONDS=1)
    log = Path(folder) / "processes.log"
    processes = [subprocess.Popen([sys.executable, "worker.py", *extra], cwd=ROOT, env=env, stdout=open(log, "ab"),
                                  stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=dies_with_the_tests)
                 for extra in ((), ("--scheduler",))]
    try:
        started = datetime.now(timezone.utc)
        wait_until(lambda: _ran_since(connection, "switchboard-inactivity", started), timeout=30)

        stop(server)
        server = redis_server(port, folder, appendonly=True)
        restarted = datetime.now(timezone.utc)
        wait_until(lambda: _ran_since(connection, "switchboard-inactivity", restarted), timeout=40)
        assert [p.poll() for p in processes] == [None, None], log.read_text()[-3000:]
    finally:
        for proc in processes:
            stop(proc)
        stop(server)
        shutil.rmtree(folder, ignore_errors=True)
