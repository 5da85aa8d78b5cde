"""The shipped nginx site (deploy/nginx/switchboard.conf) in front of two gunicorn processes on one
database and one Redis: a moderator's socket held by one process hears a client's message posted
through the other, and restarting a process loses no message (pushed, or found by the page's
catch-up after it reconnects). Static files come from nginx itself; /metrics stays inside.

The site is the shipped file rendered with this test's ports, paths and a certificate of its own
(``render_site``: every substitution must match, so a file whose shape changed fails here rather
than testing something else), three times: "one" (its upstream lists process 1 only), "two"
(process 2 only) and "both" (both, as shipped). Which process handled what is known three ways:
each rendering's upstream, each process's own access log (``ACCESS_LOG``), and the moderator's
socket closing when process 1 stops."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
from websockets.exceptions import ConnectionClosed

from app.config import Config
from app.models import Role
from tests.support.context import app_context
from tests.support.factories import make_profile, make_user
from tests.support.http import LiveSession, login, post_message
from tests.support.processes import ROOT, WebServer, dies_with_the_tests, free_port, stop, wait_for_port
from tests.support.sockets import open_socket, receive_until, until_hearing
from tests.support.waiting import wait_until

SITE = ROOT / "deploy" / "nginx" / "switchboard.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
OPENSSL = shutil.which("openssl")


def needs_nginx(test):
    """Slow; skipped without nginx or openssl, and outside the PostgreSQL + Redis lane (the
    deployment shown; two processes on SQLite are covered by tests/realtime/test_push.py)."""
    for mark in (pytest.mark.slow,
                 pytest.mark.skipif(NGINX is None or OPENSSL is None,
                                    reason="needs nginx and openssl (Debian packages)"),
                 pytest.mark.skipif(not os.environ["DATABASE_URL"].startswith("postgres"),
                                    reason="runs on PostgreSQL + Redis (CI's services lane)")):
        test = mark(test)
    return test


def _replace(text: str, pattern: str, replacement: str, count: int) -> str:
    text, found = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert found == count, f"{SITE.name}: {pattern!r} matched {found} times, not {count}"
    return text


def render_site(name: str, upstream_ports: list[int], https_port: int, http_port: int, certificate: Path,
                key: Path, logs: Path) -> str:
    """The shipped site with this test's web processes, ports (loopback), certificate and logs; its
    upstream renamed after ``name`` (several renderings live in one nginx)."""
    text = SITE.read_text()
    servers = "".join(f"    server 127.0.0.1:{port};\n" for port in upstream_ports)
    text = _replace(text, r"(?:^[ \t]*server 127\.0\.0\.1:\d+;\n)+", servers, 1)
    text = _replace(text, r"\bswitchboard_web\b", f"switchboard_web_{name}", 3)
    text = _replace(text, r"^([ \t]*)listen 443 ssl http2;", rf"\1listen 127.0.0.1:{https_port} ssl http2;", 1)
    text = _replace(text, r"^([ \t]*)listen 80;", rf"\1listen 127.0.0.1:{http_port};", 1)
    text = _replace(text, r"^[ \t]*listen \[::\]:(?:80|443)[^;]*;\n", "", 2)
    text = _replace(text, r"/etc/letsencrypt/live/chat\.example\.com/fullchain\.pem", str(certificate), 1)
    text = _replace(text, r"/etc/letsencrypt/live/chat\.example\.com/privkey\.pem", str(key), 1)
    text = _replace(text, r"/srv/switchboard/static/", f"{ROOT}/static/", 2)
    return _replace(text, r"/var/log/nginx/switchboard\.", f"{logs}/{name}-", 2)


def _nginx_conf(folder: Path) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""  # its workers then read the project's files as we do
    temp = "".join(f"    {kind}_temp_path {folder}/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"{user}worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
            f"daemon off;\nevents {{ worker_connections 256; }}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n{temp}"
            f"    include {folder}/sites/*.conf;\n}}\n")


class Front:
    """Two web processes (each with its access log) and nginx with the site rendered three times."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.logs = {n: folder / f"process-{n}-access.log" for n in (1, 2)}
        self.processes = {n: WebServer(ACCESS_LOG=self.logs[n], SECURE_TRANSPORT="1") for n in (1, 2)}
        self.ports = {name: (free_port(), free_port()) for name in ("one", "two", "both")}
        self.nginx: subprocess.Popen | None = None
        self.certificate, self.key = folder / "certificate.pem", folder / "key.pem"

    def url(self, name: str) -> str:
        return f"https://127.0.0.1:{self.ports[name][0]}"

    def plain_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name][1]}"

    def start(self) -> "Front":
        for process in self.processes.values():  # from this thread: their parent-death signal follows it
            process.start()
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(self.key), "-out", str(self.certificate)], check=True, capture_output=True)
        (self.folder / "sites").mkdir()
        upstreams = {"one": [1], "two": [2], "both": [1, 2]}
        for name, numbers in upstreams.items():
            https_port, http_port = self.ports[name]
            site = render_site(name, [self.processes[n].port for n in numbers], https_port, http_port,
                               self.certificate, self.key, self.folder)
            (self.folder / "sites" / f"{name}.conf").write_text(site)
        conf = self.folder / "nginx.conf"
        conf.write_text(_nginx_conf(self.folder))
        command = [NGINX, "-p", str(self.folder), "-c", str(conf)]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.nginx = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(self.folder / "nginx.out", "ab"),
                                      start_new_session=True, preexec_fn=dies_with_the_tests)
        for https_port, http_port in self.ports.values():
            wait_for_port(https_port, proc=self.nginx)
            wait_for_port(http_port, proc=self.nginx)
        return self

    def stop(self) -> None:
        if self.nginx is not None:
            stop(self.nginx)
        for process in self.processes.values():
            process.stop()

    def handled(self, n: int, request_line: str) -> int:
        """How many times process ``n`` logged this request (method and path)."""
        log = self.logs[n]
        return log.read_text().count(f'"{request_line} HTTP/1.1"') if log.exists() else 0


@pytest.fixture(scope="module")
def front(app, tmp_path_factory):
    front = Front(tmp_path_factory.mktemp("nginx"))
    try:
        yield front.start()
    finally:
        front.stop()


@pytest.fixture
def trusting(front, monkeypatch):
    """The front, its certificate the one authority the test's HTTPS clients (requests, websockets) trust."""
    monkeypatch.setenv("SSL_CERT_FILE", str(front.certificate))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(front.certificate))
    return front


def _page(url: str, cookies=None) -> LiveSession:
    """A browser's session on ``url`` (with ``cookies``): it sends the page's address as Referer,
    as browsers do on our pages (same-origin referrer policy); Flask-WTF's CSRF check requires it
    over HTTPS."""
    session = LiveSession(url)
    session.headers["Referer"] = url + "/"
    session.cookies.update(cookies or {})
    return session


def _online(user_id: int) -> bool:
    from app.extensions import db
    from app.models import User

    with app_context():
        db.session.expire_all()
        return db.session.get(User, user_id).is_online


def _open_socket_or_explain(front: Front, session: LiveSession):
    """The page's socket through nginx; if it does not open, the failure says what the database
    sessions, nginx and the processes were doing (a handshake once went unanswered in CI)."""
    try:
        return open_socket(session)
    except Exception as exc:  # noqa: BLE001 - re-raised with the evidence
        raise AssertionError(f"the socket did not open: {exc!r}\n{_evidence(front)}") from exc


def _evidence(front: Front) -> str:
    from sqlalchemy import text

    from app.extensions import db

    lines = []
    try:
        with app_context():
            rows = db.session.execute(text(
                "SELECT pid, application_name, state, wait_event_type, wait_event, "
                "round(extract(epoch FROM now() - xact_start)::numeric, 1), left(query, 160) "
                "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")).all()
            lines += ["database sessions (pid, application, state, waiting on, transaction age s, query):",
                      *(f"  {tuple(row)}" for row in rows)]
    except Exception as exc:  # noqa: BLE001
        lines.append(f"database sessions not read: {exc!r}")
    logs = [front.folder / name for name in ("one-error.log", "one-access.log", "error.log")]
    logs += [front.logs[1], front.processes[1].log]
    for log in logs:
        tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else ["(none)"]
        lines += [f"{log.name}:", *(f"  {line}" for line in tail)]
    return "\n".join(lines)


@needs_nginx
def test_nginx_serves_the_static_files_itself_keeps_metrics_in_and_sends_plain_http_to_https(trusting):
    front = trusting
    script = requests.get(front.url("both") + "/static/js/app.js", timeout=10)
    vendored = requests.get(front.url("both") + "/static/vendor/htmx-2.0.8.min.js", timeout=10)
    assert script.status_code == vendored.status_code == 200
    assert script.content == (ROOT / "static" / "js" / "app.js").read_bytes()
    assert script.headers["Cache-Control"] == "public, no-cache"
    assert vendored.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert front.handled(1, "GET /static/js/app.js") + front.handled(2, "GET /static/js/app.js") == 0
    # every request nginx passes on comes from 127.0.0.1, which /metrics lets in by default
    assert requests.get(front.url("both") + "/metrics", timeout=10).status_code == 403
    redirect = requests.get(front.plain_url("both") + "/login", allow_redirects=False, timeout=10)
    assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://")


@needs_nginx
def test_a_socket_on_one_process_hears_a_message_posted_through_the_other_and_a_restart_loses_none(trusting):
    front = trusting
    moderator, customer, profile = make_user(Role.MODERATOR), make_user(), make_profile("Léa")
    post = f"POST /profiles/{profile.id}/messages"

    # The moderator's page on process 1, through nginx ("one").
    mod = _page(front.url("one"))
    login(mod, moderator.email)
    ws = _open_socket_or_explain(front, mod)
    try:
        wait_until(lambda: _online(moderator.id))
        # The client's message through nginx to process 2 ("two"), pushed to process 1's socket.
        client = _page(front.url("two"))
        csrf = login(client, customer.email)
        post_message(client, csrf, profile.id, "hello through nginx, process 2")
        pushed = receive_until(ws, "hello through nginx, process 2")
        conversation_id = int(pushed.split('id="messages-c')[1].split('"')[0])
        last_seen = int(pushed.split('data-msg-id="')[1].split('"')[0])
        wait_until(lambda: front.handled(2, post) == 1)  # logged once its answer has gone
        assert front.handled(1, post) == 0

        # Process 1 restarts (stopped, then started on its port): its socket closes with it.
        front.processes[1].stop()
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=5)
        # Meanwhile the client's page goes through the upstream as shipped ("both"): process 1
        # refuses the connection, nginx hands the POST to process 2.
        client = _page(front.url("both"), client.cookies)  # its session; a new connection
        post_message(client, csrf, profile.id, "sent while process 1 restarts")
        wait_until(lambda: front.handled(2, post) == 2)
        # nginx tried process 1 first (its first request: least_conn, a tie, the first server)
        refused = (f'(111: Connection refused) while connecting to upstream, client: 127.0.0.1, '
                   f'server: chat.example.com, request: "{post} HTTP/1.1", '
                   f'upstream: "http://127.0.0.1:{front.processes[1].port}')
        assert refused in (front.folder / "both-error.log").read_text()
        front.processes[1].start()
    finally:
        ws.close()

    # The page reconnects (to process 1 again, through "one") and catches up as it does on every
    # open (static/js/app.js: catchUp(), the conversation panel's data-catchup-url with ?after=).
    ws = open_socket(mod)
    try:
        catch_up = mod.get(f"/moderateur/c/{conversation_id}/messages?after={last_seen}",
                           headers={"HX-Request": "true"})
        until_hearing(ws, moderator.id)  # the restarted process listens to Redis again
        post_message(client, csrf, profile.id, "sent after the restart")
        receive_until(ws, "sent after the restart")
    finally:
        ws.close()
    assert catch_up.status_code == 200
    assert "sent while process 1 restarts" in catch_up.text  # no socket was open to push it to
    assert "hello through nginx, process 2" not in catch_up.text  # only what the page missed


def test_nginx_accepts_the_bodies_the_app_accepts():
    """client_max_body_size is MAX_CONTENT_LENGTH: a bigger body gets the app's 413, not nginx's."""
    size = re.search(r"^\s*client_max_body_size (\d+)([km]?);", SITE.read_text(), re.MULTILINE)
    assert size, "no client_max_body_size"
    factor = {"": 1, "k": 1024, "m": 1024 * 1024}[size.group(2)]
    assert int(size.group(1)) * factor == Config.MAX_CONTENT_LENGTH
