"""Job functions for tests, importable by the real worker process (it runs from the project)."""
import os
import signal
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def succeed(value):
    return value


def fail(message: str):
    raise RuntimeError(message)


def take_time(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def die() -> None:
    """The work horse killed mid-job (the kernel's OOM killer, an operator's kill -9)."""
    os.kill(os.getpid(), signal.SIGKILL)


def fail_while(path: str, message: str):
    """Fails while ``path`` exists (the trouble an admin fixes before retrying)."""
    if os.path.exists(path):
        raise RuntimeError(message)
    return message


PRIVATE_QUEUES = ("sb-test-urgent", "sb-test-later")  # no worker of the tests listens to them (the
# ``private_queues`` fixture makes them the app's)


def empty_queues(names) -> None:
    """Queues and their scheduled and failed jobs emptied (those the suite's clean-up does not know)."""
    from app.jobs import get_queue

    for name in names:
        queue = get_queue(name)
        # Scheduled jobs first: the worker's scheduler moves those that fall due into the queue,
        # and one moved after the queue was emptied would run during the next test.
        for registry in (queue.scheduled_job_registry, queue.failed_job_registry):
            for job_id in registry.get_job_ids():
                registry.remove(job_id, delete_job=True)
        queue.empty()



def redis_url_of_database(url: str, number: int) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":  # the embedded Redis: unix:///…/redis.socket?db=N
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"] + [("db", str(number))]
        return f"{url.partition('?')[0]}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{number}"))


def failed_job(message: str, queue_name: str = PRIVATE_QUEUES[1]):
    """A job that failed on ``queue_name`` (run by RQ's own in-process worker), with its error."""
    from rq import SimpleWorker

    from app.jobs import get_queue
    from app.redis_client import get_redis
    from tests.support.context import app_context

    with app_context():
        job = get_queue(queue_name).enqueue(fail, message, description=f"failing: {message}")
        SimpleWorker([get_queue(queue_name)], connection=get_redis()).work(burst=True)
        assert job.get_status(refresh=True) == "failed"
        return job
