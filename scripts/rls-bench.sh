#!/usr/bin/env bash
# The RLS bench (runtime/benches/rls.rs) with the bench and PostgreSQL's new backends on
# one CPU, restored afterwards. On this 2-vCPU VM a round trip whose backend runs on the
# other vCPU costs a cross-vCPU wake-up, and the scheduler places each side's backend
# differently from run to run: unpinned, the same code measured 1.10x and 2.2x. On one
# CPU every side gets the same placement, so the ratios compare the code.
#
#   scripts/rls-bench.sh [cpu]        (root, or the owner of the postmaster)
set -euo pipefail
cd "$(dirname "$0")/.."
cpu="${1:-0}"
datadir=$(psql -h 127.0.0.1 -U postgres -d test -At -c 'SHOW data_directory')
postmaster=$(head -1 "$datadir/postmaster.pid")
before=$(taskset -p -c "$postmaster" | sed 's/.*: //')
trap 'taskset -p -c "$before" "$postmaster" >/dev/null' EXIT
taskset -p -c "$cpu" "$postmaster" >/dev/null
TENANTRY_BENCH_ROUNDS="${TENANTRY_BENCH_ROUNDS:-40}" TENANTRY_BENCH_BATCH="${TENANTRY_BENCH_BATCH:-200}" \
  taskset -c "$cpu" cargo bench -p tenantry --features postgres --bench rls
