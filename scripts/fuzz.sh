#!/usr/bin/env bash
# Fuzzes the SQL analyser: builds analyzer/fuzz and runs its `analyze` target for RUNS
# executions (default 1,000,000), then prints libFuzzer's statistics.
#
#   scripts/fuzz.sh [RUNS] [extra libFuzzer flags...]
#   scripts/fuzz.sh 5000000 -max_total_time=3600
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). The seeds in
# analyzer/fuzz/corpus/analyze are only read; what the fuzzer finds goes to
# analyzer/fuzz/work/analyze (kept between runs, not committed). A crash or a timeout is
# written to analyzer/fuzz/artifacts/analyze and ends the run with a non-zero status:
# minimise it with `cargo +nightly fuzz tmin -a analyze <file>` (in analyzer/) and
# add it to analyzer/tests/robustness.rs.
#
# Built with debug assertions (arithmetic overflow panics) and AddressSanitizer, which
# also turns a stack overflow into a report and a crash file (without it the process just
# dies). The fuzzer runs on a STACK_KB stack (default 384): the analyser must fit in the
# 2 MiB of a thread Rust starts, in a debug build, whose frames are about five times the
# size of these. (A deep statement is analysed on a thread of the analyser's own, with
# 32 MiB, whatever this says.) SANITIZER=none is twice as fast, but misses stack overflows.
set -euo pipefail
cd "$(dirname "$0")/../analyzer"

runs="${1:-1000000}"
shift || true
sanitizer="${SANITIZER:-address}"
stack_kb="${STACK_KB:-384}"

command -v cargo-fuzz >/dev/null || { echo "fuzz: install cargo-fuzz: cargo install cargo-fuzz" >&2; exit 1; }
mkdir -p fuzz/work/analyze

cargo +nightly fuzz build -s "$sanitizer" -a analyze

flags=(
  -dict=fuzz/sql.dict
  -max_len=4096 # long enough for quadratic behaviour and deep nesting to show
  -timeout=5    # seconds for one input: longer is a bug
  -rss_limit_mb=2048
  -runs="$runs"
  -print_final_stats=1
)
ulimit -s "$stack_kb"
cargo +nightly fuzz run -s "$sanitizer" -a analyze fuzz/work/analyze fuzz/corpus/analyze -- "${flags[@]}" "$@"
