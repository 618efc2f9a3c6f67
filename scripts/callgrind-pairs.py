#!/usr/bin/env python3
"""Instructions per call of each generated/hand-written pair, counted by callgrind.

Wall-clock ratios on a busy two-core machine move by several percent from run to run;
instruction counts do not depend on load. For every backend/pair/side this runs the
repository bench binary in its loop mode (TENANTRY_BENCH_LOOP, see
runtime/benches/repository.rs) under `valgrind --tool=callgrind` twice, with n = 0 and
n = N calls after the same warm-up, and reports (I(N) - I(0)) / N, where I is the
inclusive cost of the bench's `Measured` future: every instruction executed inside the
polls of the measured calls on the client's thread (the PostgreSQL server is another
process; sqlx-sqlite's worker thread is left out: it runs the same SQLite statement for
both sides), without the runtime's parking between polls. What is left of timing in the
count is how often a reply was not there yet when polled (a poll that returns Pending is
repeated); the N runs are repeated (--repeat) and the median is reported.

The callgrind files stay in target/callgrind/ for `callgrind_annotate`.

Usage: python3 scripts/callgrind-pairs.py [--calls 2000] [--backends sqlite,postgres] [--pairs point_read,...]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAIRS = ["point_read", "list_100", "insert", "update"]


def bench_binary(repo):
    out = subprocess.run(
        ["cargo", "bench", "-p", "tenantry", "--features", "sqlite,postgres", "--bench", "repository", "--no-run", "--message-format=json"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "repository" and msg.get("executable"):
            return msg["executable"]
    sys.exit("no repository bench executable")


def instructions(binary, case, n, out_file):
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", binary],
        env=dict(os.environ, TENANTRY_BENCH_LOOP=f"{case}:{n}"),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"{case}:{n} failed:\n{done.stderr[-3000:]}")
    annotated = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out_file)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"^\s*([\d,]+) .*repository::Measured<F> as core::future::future::Future>::poll", annotated, re.M)
    if not found:
        sys.exit(f"{case}:{n}: no `Measured` poll in {out_file}")
    return int(found.group(1).replace(",", ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of N calls per side (median)")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--pairs", default=",".join(PAIRS))
    ap.add_argument("--repo", type=Path, default=REPO, help="the checkout to build the bench in")
    a = ap.parse_args()

    binary = bench_binary(a.repo)
    out_dir = Path(os.environ.get("CARGO_TARGET_DIR", a.repo / "target")) / "callgrind"
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"instructions per call, N = {a.calls}, median of {a.repeat}")
    print(f"{'pair':<22} {'generated':>10} {'hand_written':>12} {'hand_conn':>10} {'gen/hand':>9} {'gen/conn':>9}")
    for backend in a.backends.split(","):
        for pair in a.pairs.split(","):
            sides = ["generated", "hand_written", "hand_conn"]
            base = {}
            for side in sides:
                case = f"{backend}/{pair}/{side}"
                base[side] = instructions(binary, case, 0, out_dir / f"{backend}.{pair}.{side}.0.out")
            full = {side: [] for side in sides}
            for run in range(a.repeat):  # interleaved, like everything else here
                for side in sides:
                    case = f"{backend}/{pair}/{side}"
                    out_file = out_dir / f"{backend}.{pair}.{side}.{a.calls}.{run}.out"
                    full[side].append(instructions(binary, case, a.calls, out_file))
            per = {side: (statistics.median(full[side]) - base[side]) / a.calls for side in sides}
            g, h, c = per["generated"], per["hand_written"], per["hand_conn"]
            print(f"{backend + '/' + pair:<22} {g:>10.0f} {h:>12.0f} {c:>10.0f} {g / h:>9.4f} {g / c:>9.4f}", flush=True)


if __name__ == "__main__":
    main()
