"""Instructions one client message costs the web process, Switchboard's and the peer's.

Wall-clock and CPU figures on a shared virtual machine move from one day to the next, and within
the hour, by more than a small change is worth, so such a change cannot be seen in them.
Valgrind's callgrind counts the instructions the process executes instead: the same code, inputs
and environment give the same count whatever else the machine is doing. This runs each send path
in-process under callgrind, through Flask's test client, and counts only the measured requests
(instrumentation is switched on after the warm-up with ``callgrind_control``):

* Switchboard: the client's ``POST /profiles/<id>/messages``, as ``bench/request_cost.py`` sends
  it (session, CSRF check, the logged-in user's load, the message, its pending row, the
  counters, the two pushes rendered and published, the bubble answered);
* the peer (``bench/peer_app``): its ``POST /messages`` (one insert, one render, one emit);
* with ``--path first``, Switchboard only: new clients' first messages, each a conversation
  created and an assignment decision among ``--moderators`` in the queue (the peer has none).

Neither includes HTTP parsing, gevent or the sockets' side: both servers pay those alike. psycopg
waits with ``wait_poll`` in both, as it does in the servers under gevent (its C wait function is
not the one the servers use). It measures and reports; it never asserts.

    .venv/bin/python bench/instructions.py
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench REDIS_URL=redis://127.0.0.1:6379/12 \\
      .venv/bin/python bench/instructions.py --setup services
    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/instructions.py --setup services --path first
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from project import ROOT, app_version  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402
from run_setup import Setup  # noqa: E402

SIDES = ("switchboard", "peer")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--setup", choices=("embedded", "services"),
                   default="services" if os.environ.get("DATABASE_URL") else "embedded")
    p.add_argument("--requests", type=int, default=100, help="measured requests per side")
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="keep callgrind's output files there (read them with callgrind_annotate --inclusive=yes)")
    p.add_argument("--only", choices=SIDES, help="count one side only")
    p.add_argument("--path", choices=("steady", "first"), default="steady",
                   help="steady: a client's message in its conversation; first: new clients' first messages "
                        "(each an assignment decision among --moderators; Switchboard only, the peer has none)")
    p.add_argument("--moderators", type=int, default=20, help="moderators online in the queue (--path first)")
    p.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)  # the process under callgrind
    args = p.parse_args(argv)
    if args.requests < 10 or args.warmup < 5:
        p.error("--requests at least 10, --warmup at least 5")
    if args.path == "first":
        if args.only == "peer":
            p.error("--path first: Switchboard only")
        args.only = "switchboard"
    return args


# -- the measured process ----------------------------------------------------------------------
def _switchboard_sender():
    from login import logged_in
    from request_cost import CLIENT, set_up_sender

    from app import create_app

    app = create_app()
    profile_id = set_up_sender(app)
    client, csrf = logged_in(app, CLIENT)

    def send():
        return client.post(f"/profiles/{profile_id}/messages",
                           data={"body": "Hello, are you there?", "client_token": uuid.uuid4().hex},
                           headers={"X-CSRFToken": csrf, "HX-Request": "true"})

    return send


def _first_messages_sender(count: int, moderators: int):
    """``count`` new clients, each logged in, and as many profiles nobody holds yet; each call
    sends the next client's first message to the next profile: a conversation to create and a
    moderator to choose among ``moderators`` online in the queue."""
    from login import logged_in
    from request_cost import PASSWORD

    from app import create_app
    from app.clock import utcnow
    from app.database import write_transaction
    from app.extensions import db
    from app.models import Role
    from app.services import moderator_queue, profiles, users

    app = create_app()
    with app.app_context():
        with write_transaction():
            for n in range(moderators):
                moderator = users.create_user(email=f"first-mod{n}@example.test", password=PASSWORD,
                                              role=Role.MODERATOR, display_name=f"Moderator {n}")
                moderator.is_online = True
                db.session.flush()
                moderator_queue.join(moderator.id, utcnow())
            for n in range(count):
                users.create_user(email=f"first-client{n}@example.test", password=PASSWORD, role=Role.CLIENT,
                                  display_name=f"Client {n}")
            profile_ids = [profiles.create_profile(name=f"Profile {n}", age=30, city="Paris", bio="").id
                           for n in range(count)]
        db.session.remove()
    senders = [logged_in(app, f"first-client{n}@example.test") for n in range(count)]
    turn = iter(range(count))

    def send():
        n = next(turn)
        client, csrf = senders[n]
        return client.post(f"/profiles/{profile_ids[n]}/messages",  # as the page sends it: it showed no conversation
                           data={"body": "Hello, are you there?", "client_token": uuid.uuid4().hex, "opens": "1"},
                           headers={"X-CSRFToken": csrf, "HX-Request": "true"})

    return send


def _peer_sender():
    os.environ["PEER_CHANNEL"] = f"instructions-{uuid.uuid4().hex[:8]}"
    from peer_app.app import app

    client = app.test_client()

    def send():
        return client.post("/messages", data={"body": "Hello, are you there?", "moderator": "1"})

    return send


def measured_process(args) -> int:
    if args.path == "first":
        send = _first_messages_sender(args.warmup + args.requests, args.moderators)
    else:
        send = _switchboard_sender() if args.side == "switchboard" else _peer_sender()

    def checked():
        response = send()
        if response.status_code != 200:
            raise SystemExit(f"the {args.side} send path answered {response.status_code}: "
                             f"{response.get_data(as_text=True)[:300]}")

    for _ in range(args.warmup):
        checked()
    _callgrind("on")
    for _ in range(args.requests):
        checked()
    _callgrind("off")
    return 0


def _callgrind(state: str) -> None:
    done = subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"callgrind_control -i {state} failed: {done.stderr.strip() or done.stdout.strip()}")


# -- the runner --------------------------------------------------------------------------------
def count(side: str, args, env: dict, workdir: Path) -> int:
    """Instructions executed by ``side``'s measured requests, all of them."""
    out = workdir / f"callgrind.{side}.out"
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
               sys.executable, str(Path(__file__).resolve()), "--side", side, "--setup", args.setup,
               "--requests", str(args.requests), "--warmup", str(args.warmup),
               "--path", args.path, "--moderators", str(args.moderators)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise SystemExit(f"the {side} run failed (exit {done.returncode}):\n{tail}")
    return total_instructions(out.read_text())


def total_instructions(callgrind_output: str) -> int:
    """The ``totals:`` line of a callgrind output file (its ``summary:`` line stays at 0 when
    instrumentation starts switched off)."""
    match = re.search(r"^totals:\s*(\d+)", callgrind_output, re.M)
    if match is None:
        raise SystemExit("callgrind wrote no totals line")
    return int(match.group(1))


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.side:
        return measured_process(args)
    missing = [tool for tool in ("valgrind", "callgrind_control") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"needs {' and '.join(missing)} (Debian: apt-get install valgrind)")
    with Setup(args.setup) as setup:
        setup.prepare()  # a fresh schema; the children inherit its env
        workdir = Path(tempfile.mkdtemp(prefix="switchboard-instructions-"))
        try:
            env = dict(os.environ, PSYCOPG_WAIT_FUNC="wait_poll")
            per_message = {}
            for side in (args.only,) if args.only else SIDES:
                per_message[side] = count(side, args, env, workdir) / args.requests
                print(f"  {side}: {per_message[side] / 1e6:.2f} M instructions per message")
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                for out in workdir.glob("callgrind.*.out"):
                    shutil.copy(out, args.keep / out.name)
                print(f"  callgrind output kept in {args.keep}")
            if args.only:
                return 0
            ratio = per_message["switchboard"] / per_message["peer"]
            record = {
                "when": now_iso(), "version": app_version(), "machine": machine(),
                "setup": setup.describe(), "requests": args.requests, "warmup": args.warmup,
                "instructions_per_message": {side: round(value) for side, value in per_message.items()},
                "switchboard_to_peer": round(ratio, 2),
            }
            path = write_result("instructions", setup.kind, record)
            print(f"SUMMARY instructions {setup.kind}: Switchboard {per_message['switchboard'] / 1e6:.2f} M, "
                  f"peer {per_message['peer'] / 1e6:.2f} M instructions per message ({ratio:.2f}x) "
                  f"-> {path.relative_to(ROOT)}")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
