"""One benchmark script run on this checkout and on an earlier commit, alternated: what a change
costs, measured in one sitting on the same machine (ours, theirs, ours…).

The earlier commit is checked out into a temporary git worktree that shares this checkout's
virtualenv; ``--script`` (a bench/ script both commits have, by default ``request_cost.py``: SQL
statements and CPU per client message through the real send path) runs there and here in turn,
``--rounds`` times each. Each run's JSON record is read from the results file it wrote (this
checkout's own file is put back as it was). Reported: per side, the median of the runs' figures,
and their ratio. It measures and reports; it never asserts.

    .venv/bin/python bench/versus_commit.py --rev 60f9e95
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/switchboard_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
      .venv/bin/python bench/versus_commit.py --rev 60f9e95 -- --setup services
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from project import PYTHON, ROOT, app_version  # noqa: E402
from result_files import machine, now_iso, write_result  # noqa: E402

SCRIPT_RESULTS = {"request_cost.py": "request_cost"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rev", required=True, help="the earlier commit (anything git rev-parse takes)")
    p.add_argument("--script", default="request_cost.py", choices=sorted(SCRIPT_RESULTS))
    p.add_argument("--rounds", type=int, default=3, help="runs on each side, alternated")
    p.add_argument("script_args", nargs="*", help="after --: passed to the script on both sides")
    args = p.parse_args(argv)
    if not 1 <= args.rounds <= 9:
        p.error("--rounds 1..9")
    return args


def run(checkout: Path, script: str, script_args: list[str]) -> dict:
    """Run the script in ``checkout``; the record it wrote (its results file names one key per set-up)."""
    results = checkout / "bench" / "results" / f"{SCRIPT_RESULTS[script]}.json"
    before = results.read_text() if results.exists() else None
    done = subprocess.run([PYTHON, str(checkout / "bench" / script), "--repeats", "3", *script_args], cwd=checkout,
                          capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{script} failed in {checkout}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    summary = [line for line in done.stdout.splitlines() if line.startswith("SUMMARY")]
    data = json.loads(results.read_text())
    if before is None:
        results.unlink()
    else:
        results.write_text(before)
    record = max(data.values(), key=lambda r: r.get("when", ""))
    return {"summary": summary[-1] if summary else "", "record": record}


def figures(record: dict) -> dict:
    out = {"statements_per_request": record.get("statements_per_request")}
    for pause, value in record.get("cpu_by_pause_ms", {}).items():
        out[f"cpu_ms_pause_{pause}"] = value["cpu_ms_median"]
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    rev = subprocess.run(["git", "rev-parse", "--short", args.rev], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    where = Path(tempfile.mkdtemp(prefix="switchboard-versus-"))
    theirs = where / "checkout"
    subprocess.run(["git", "worktree", "add", "--detach", str(theirs), rev], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        (theirs / ".venv").symlink_to(ROOT / ".venv")
        subprocess.run([str(ROOT / ".venv" / "bin" / "pybabel"), "compile", "--use-fuzzy", "-d",
                        str(theirs / "app" / "translations")], check=True, capture_output=True)
        runs = {"ours": [], "theirs": []}
        for i in range(args.rounds):
            for side, checkout in (("ours", ROOT), ("theirs", theirs)) if i % 2 == 0 else \
                    (("theirs", theirs), ("ours", ROOT)):
                result = run(checkout, args.script, args.script_args)
                runs[side].append(result)
                print(f"  {side} ({app_version() if side == 'ours' else rev}): {result['summary']}")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(theirs)], cwd=ROOT, capture_output=True)
        shutil.rmtree(where, ignore_errors=True)
    medians = {side: {key: statistics.median(figures(r["record"])[key] for r in results)
                      for key in figures(results[0]["record"])}
               for side, results in runs.items()}
    ratios = {key: round(medians["ours"][key] / medians["theirs"][key], 3)
              for key in medians["ours"] if medians["theirs"].get(key)}
    kind = "services" if "services" in args.script_args else "embedded"
    key = f"{args.script.removesuffix('.py')}-vs-{rev}-{kind}"
    path = write_result("versus_commit", key, {
        "when": now_iso(), "ours": app_version(), "theirs": rev, "machine": machine(), "rounds": args.rounds,
        "script_args": args.script_args, "medians": medians, "ratio_ours_to_theirs": ratios,
        "runs": {side: [figures(r["record"]) for r in results] for side, results in runs.items()}})
    cpu = next((k for k in ratios if k.startswith("cpu_ms_pause_0")), None)
    print(f"SUMMARY versus_commit {args.script} ours {app_version()} vs {rev}: statements "
          f"{medians['ours']['statements_per_request']:g} vs {medians['theirs']['statements_per_request']:g}"
          + (f", CPU {medians['ours'][cpu]} vs {medians['theirs'][cpu]} ms/message (x{ratios[cpu]})" if cpu else "")
          + f" -> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
