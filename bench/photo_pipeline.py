"""Photo pipeline: a client's 12 MP JPEG POSTed -> its thumbnail pushed to the moderator's socket.

A moderator (in the queue, their socket open) holds a client's conversation; the client then
sends ``--photos`` photos one after the other, each a 4000 x 3000 JPEG drawn beforehand (noise over
a gradient, so that it weighs what a phone's photo weighs). Each goes the production way: the
multipart POST to the gunicorn server (gunicorn.conf.py), the upload checked and stored, the job
enqueued after the commit, a real RQ worker (``worker.py``) making the thumbnail and the display
size, the push from the worker through Redis to the web process and the moderator's socket.

Latency of a photo: from just before its POST is written to the arrival on the moderator's socket
of its figure in the "ready" state (the thumbnail). Also reported: the POST's round trip (the
upload, stored), and the worker's CPU per photo (the worker process and the work horses it forks
and waits for, from its ``cpu_times``, over the phase). One photo at a time: what a person waits,
not a queue of photos.

    .venv/bin/python bench/photo_pipeline.py
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
      .venv/bin/python bench/photo_pipeline.py --setup services
"""
from __future__ import annotations

import argparse
import asyncio
import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_clients import HTTPPool  # noqa: E402
from login import USER_AGENT, Cookies, check_login  # noqa: E402
from percentiles import latency_summary  # noqa: E402
from project import PYTHON, ROOT  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402
from seeding import PASSWORD  # noqa: E402
from servers import Server, running_server  # noqa: E402

READY = re.compile(r'<figure class="photo photo-ready" id="photo-([0-9a-zA-Z_-]+)"')
PHOTO_ID = re.compile(r'id="photo-([0-9a-zA-Z_-]+)"')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--setup", choices=("embedded", "services"),
                   default="services" if os.environ.get("DATABASE_URL") else "embedded")
    p.add_argument("--photos", type=int, default=40, help="photos sent, one after the other")
    p.add_argument("--warmup", type=int, default=3, help="photos sent first, not counted")
    p.add_argument("--pause", type=float, default=0.3, help="seconds between a thumbnail and the next POST")
    p.add_argument("--variants", type=int, default=4, help="distinct JPEGs drawn (sent in turn)")
    args = p.parse_args(argv)
    if args.photos < 1 or args.variants < 1 or args.warmup < 0:
        p.error("--photos and --variants at least 1, --warmup at least 0")
    return args


def draw_photo(seed: int, size=(4000, 3000)) -> bytes:
    """A 12 MP JPEG of a phone's weight: a colour gradient under grain, saved at quality 90."""
    from PIL import Image, ImageChops

    width, height = size
    ramp = Image.linear_gradient("L").resize(size)
    across = Image.linear_gradient("L").rotate(90).resize(size)
    base = Image.merge("RGB", (ramp, across, ImageChops.invert(ramp)))
    tint = Image.new("RGB", size, ((seed * 67) % 256, (seed * 131) % 256, (seed * 29) % 256))
    base = Image.blend(base, tint, 0.35)
    grain = Image.merge("RGB", [Image.effect_noise(size, 40 + seed % 3 * 8) for _ in range(3)])
    image = Image.blend(base, grain, 0.22)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def multipart(fields: dict, photo: bytes) -> tuple[bytes, str]:
    from urllib3.filepost import encode_multipart_formdata

    return encode_multipart_formdata({**fields, "photo": ("photo.jpg", photo, "image/jpeg")})


class RQWorker:
    """``python worker.py`` in a process group of its own, with the server's environment."""

    def __init__(self, env: dict, log: Path):
        self.env, self.log = env, log
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "RQWorker":
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([PYTHON, "worker.py"], cwd=ROOT, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def cpu_seconds(self) -> float:
        """The worker's CPU so far, with the work horses it forked and waited for."""
        import psutil

        t = psutil.Process(self.proc.pid).cpu_times()
        return t.user + t.system + t.children_user + t.children_system

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def set_up_people(setup: Setup) -> tuple[int, int, int]:
    """A moderator in the queue, a client and a profile; their ids."""
    from app.clock import utcnow
    from app.database import write_transaction
    from app.extensions import db
    from app.models import Role
    from app.services import moderator_queue, profiles, users

    with setup.app.app_context():
        with write_transaction():
            moderator = users.create_user(email="photo-moderator@bench.test", password=PASSWORD, role=Role.MODERATOR,
                                          display_name="Moderator")
            client = users.create_user(email="photo-client@bench.test", password=PASSWORD, role=Role.CLIENT,
                                       display_name="Client")
            profile = profiles.create_profile(name="Camille", age=29, city="Paris", bio="Bench profile")
            db.session.flush()
            moderator_queue.join(moderator.id, utcnow())
        ids = moderator.id, client.id, profile.id
        db.session.remove()
    return ids


class Run:
    def __init__(self, server: Server, moderator_cookie: str, client_cookie: str, client_csrf: str, profile_id: int):
        self.server = server
        self.moderator_cookie = moderator_cookie
        self.client_cookie, self.client_csrf, self.profile_id = client_cookie, client_csrf, profile_id
        self.ready_at: dict[str, float] = {}
        self.frames: list[tuple[float, str]] = []
        self.arrived = asyncio.Event()

    async def receive(self, ws):
        async for frame in ws:
            text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
            now = time.monotonic()
            self.frames.append((now, text))
            for photo_id in READY.findall(text):
                self.ready_at.setdefault(photo_id, now)
            self.arrived.set()

    async def wait_for(self, found, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while (value := found()) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("nothing arrived on the moderator's socket")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except asyncio.TimeoutError:
                pass
        return value

    async def post(self, pool: HTTPPool, fields: dict, photo: bytes | None = None) -> tuple[int, str, float]:
        if photo is None:
            from urllib.parse import urlencode

            body, content_type = urlencode(fields).encode(), "application/x-www-form-urlencoded"
        else:
            body, content_type = multipart(fields, photo)
        headers = {"Cookie": self.client_cookie, "X-CSRFToken": self.client_csrf, "HX-Request": "true",
                   "User-Agent": USER_AGENT, "Content-Type": content_type}
        t0 = time.monotonic()
        status, answer = await pool.request("POST", f"/profiles/{self.profile_id}/messages", headers, body)
        return status, answer.decode("utf-8", "replace"), t0


async def run_photos(args, run: Run, photos: list[bytes], worker: RQWorker) -> dict:
    from websockets.asyncio.client import connect

    ws = await connect(run.server.ws_url, origin=run.server.url, additional_headers={"Cookie": run.moderator_cookie},
                       user_agent_header=USER_AGENT, proxy=None, ping_interval=None, max_size=None)
    receiver = asyncio.get_running_loop().create_task(run.receive(ws))
    pool = HTTPPool(run.server.port, size=2)
    await asyncio.sleep(1.0)  # the socket counted online: the conversation goes to this moderator

    marker = uuid.uuid4().hex
    status, _, _ = await run.post(pool, {"body": f"bonjour {marker}", "client_token": uuid.uuid4().hex})
    if status != 200:
        raise SystemExit(f"the first message answered {status}")
    await run.wait_for(lambda: next((t for t, text in run.frames if marker in text), None))

    latencies, round_trips, after_answer, failures = [], [], [], []
    cpu_before = None
    for n in range(args.warmup + args.photos):
        if n == args.warmup:
            cpu_before = worker.cpu_seconds()
            phase_start = time.monotonic()
        photo = photos[n % len(photos)]
        status, answer, t0 = await run.post(pool, {"body": "", "client_token": uuid.uuid4().hex}, photo)
        answered = time.monotonic()
        found = PHOTO_ID.search(answer)
        if status != 200 or not found:
            failures.append(f"POST {n}: {status} {answer[:200]!r}")
            continue
        photo_id = found.group(1)
        try:
            ready = await run.wait_for(lambda: run.ready_at.get(photo_id))
        except TimeoutError:
            failures.append(f"photo {photo_id}: no thumbnail pushed within 60 s")
            continue
        if n >= args.warmup:
            latencies.append((ready - t0) * 1000)
            round_trips.append((answered - t0) * 1000)
            after_answer.append((ready - answered) * 1000)
        await asyncio.sleep(args.pause)
    phase = time.monotonic() - phase_start
    worker_cpu = worker.cpu_seconds() - cpu_before
    receiver.cancel()
    await ws.close()
    counted = len(latencies)
    return {"latency": latency_summary(latencies), "post_round_trip": latency_summary(round_trips),
            "answer_to_thumbnail": latency_summary(after_answer), "photos_counted": counted,
            "worker_cpu_ms_per_photo": round(worker_cpu * 1000 / counted, 1) if counted else None,
            "worker_cpu_includes": "the worker process, its forked work horses, and its idle polling over the phase",
            "phase_seconds": round(phase, 2), "failures": failures}


def main(argv=None) -> int:
    args = parse_args(argv)
    print(f"photo_pipeline: setup={args.setup} photos={args.photos} (+{args.warmup} warm-up) pause={args.pause}s",
          flush=True)
    photos = [draw_photo(seed) for seed in range(args.variants)]
    sizes = [len(p) for p in photos]
    print(f"  {len(photos)} JPEGs of 4000x3000, {min(sizes) / 1e6:.1f}-{max(sizes) / 1e6:.1f} MB", flush=True)
    with Setup(args.setup) as setup:
        setup.prepare()
        moderator_id, client_id, profile_id = set_up_people(setup)
        cookies = Cookies(setup.app)
        moderator_cookie = cookies.for_user(moderator_id)[0]
        client_cookie, client_csrf = cookies.for_user(client_id)
        with running_server(Server(setup)) as server:
            check_login(server.url, moderator_cookie, "/moderateur")
            check_login(server.url, client_cookie, "/profiles")
            with RQWorker(server.env, setup.tmp / "worker.log") as worker:
                run = Run(server, moderator_cookie, client_cookie, client_csrf, profile_id)
                result = asyncio.run(run_photos(args, run, photos, worker))
            result.update(server.report())
        setup_desc = setup.describe()

    key = f"{args.setup}-n{args.photos}"
    record = {"when": now_iso(), "app_commit": server.app_commit, "setup": setup_desc, "photos": args.photos,
              "warmup": args.warmup, "pause_s": args.pause, "jpeg_bytes": sizes, "jpeg_pixels": "4000x3000",
              "machine": machine(), **result}
    path = write_result("photo_pipeline", key, record)
    lat, post, cpu = result["latency"], result["post_round_trip"], result["worker_cpu_ms_per_photo"]
    if result["failures"]:
        print("  failures:", *result["failures"], sep="\n    ")
    print(f"SUMMARY photo_pipeline {key}: upload -> thumbnail on the moderator's socket p50 {lat['p50_ms']} ms, "
          f"p99 {lat['p99_ms']} ms (POST round trip p50 {post['p50_ms']} ms, p99 {post['p99_ms']} ms), "
          f"worker CPU {cpu} ms/photo, {result['photos_counted']}/{args.photos} photos, "
          f"JPEGs {min(sizes) / 1e6:.1f}-{max(sizes) / 1e6:.1f} MB (client on same machine) -> {path.relative_to(ROOT)}")
    return 0 if not result["failures"] else 1


if __name__ == "__main__":
    sys.exit(main())
