"""A Redis restart under a process's hub: while its subscription is down nothing is delivered
to its own sockets either (a page catches up from the newest message it shows: one delivered
here while other processes' fragments were lost would hide them), and once the subscription is
back every socket is told to reconnect and catch up."""
import shutil
import tempfile

import pytest
import redis

from app.realtime.hub import RECONNECT, Hub
from app.redis_client import Names
from tests.support.processes import free_port, redis_server, stop
from tests.support.waiting import wait_until



@pytest.mark.slow
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_nothing_is_delivered_while_the_subscription_is_down_and_every_page_catches_up_once_it_is_back():
    folder, port = tempfile.mkdtemp(prefix="switchboard-redis-"), free_port()
    server = redis_server(port, folder)
    url = f"redis://127.0.0.1:{port}/0"
    r = redis.Redis.from_url(url)
    hub = Hub(url, Names("sb-test-restart"))
    page = hub.register(7101)
    try:
        wait_until(lambda: hub.listening, timeout=10)
        hub.publish(r, 7101, "before")
        assert page.take() == "before"

        stop(server)
        with pytest.raises(redis.ConnectionError):
            hub.publish(r, 7101, "during")  # stored by its request, pushed nowhere: the page catches up
        assert page.take() is None
        assert page.close_code is None

        server = redis_server(port, folder)
        wait_until(lambda: page.close_code == RECONNECT, timeout=15)  # the page reconnects and catches up
        wait_until(lambda: hub.listening, timeout=5)
        fresh = hub.register(7101)  # the page's new socket: live again
        hub.publish(r, 7101, "after")
        assert fresh.take() == "after"
    finally:
        hub.stop(r)
        stop(server)
        shutil.rmtree(folder, ignore_errors=True)
