#!/usr/bin/env bash
# The soundness oracle's long campaign: many generated statements over several seeds,
# each judged by PostgreSQL's row-level security (see tests/src/oracle/mod.rs).
#
# Usage: scripts/oracle-campaign.sh [TOTAL_CASES] [SEED...]
#   TOTAL_CASES  generated statements in all, split evenly over the seeds (default 200000)
#   SEED...      the seeds (default 1 to 8)
# TENANTRY_ORACLE_CHILD_TOTAL (default 50000) is the number of child-table statements of
# the ownership fixture's generator (tests/src/oracle/children.rs), split the same way;
# TOTAL_CASES=0 runs that campaign alone, TENANTRY_ORACLE_CHILD_TOTAL=0 the other alone.
#
# Needs the PostgreSQL server of TENANTRY_PG_URL (default postgres://postgres@127.0.0.1:5432/test);
# an unreachable server fails the campaign. Each seed runs the oracle test once, one after
# the other (the machine's cores are shared): the full report of a seed, every difference
# with its statement, is in target/oracle-campaign/seed-<seed>.log. Prints one summary
# line per seed and the totals; exits 1 if any accepted statement behaved differently
# under RLS, 2 if a seed did not report.
set -euo pipefail

cd "$(dirname "$0")/.."
total=${1:-200000}
shift || true
seeds=("$@")
if [ ${#seeds[@]} -eq 0 ]; then
    seeds=(1 2 3 4 5 6 7 8)
fi
per_seed=$(((total + ${#seeds[@]} - 1) / ${#seeds[@]}))
child_total=${TENANTRY_ORACLE_CHILD_TOTAL:-50000}
child_per_seed=$(((child_total + ${#seeds[@]} - 1) / ${#seeds[@]}))
logs=target/oracle-campaign
mkdir -p "$logs"

cargo test -q -p tenantry-tests --test oracle --no-run
echo "oracle campaign: ${#seeds[@]} seeds x ($per_seed + $child_per_seed child-table) cases, logs in $logs/"
started=$(date +%s)
missing=0
for seed in "${seeds[@]}"; do
    log="$logs/seed-$seed.log"
    # The test fails when it finds differences: that is a result here, not an error.
    TENANTRY_REQUIRE_DB=1 TENANTRY_ORACLE_SEED=$seed TENANTRY_ORACLE_CASES=$per_seed \
        TENANTRY_ORACLE_CHILD_CASES=$child_per_seed \
        cargo test -q -p tenantry-tests --test oracle -- --test-threads=1 >"$log" 2>&1 || true
    for corpus in generated children; do
        if ! grep -h "^oracle $corpus" "$log"; then
            echo "seed $seed: no $corpus summary; see $log"
            missing=1
        fi
    done
done
grep -h -m1 '^oracle analyser tests' "$logs/seed-${seeds[0]}.log" || true
grep -h -m1 '^oracle ownership tests: [0-9]* statements' "$logs/seed-${seeds[0]}.log" || true

# Totals over the seeds' summary lines:
# "oracle generated (seed S): N statements, A accepted (P%), J judged, X not executable, K skipped, D differences"
total_of() {
    for seed in "${seeds[@]}"; do grep -h "^oracle $1" "$logs/seed-$seed.log" || true; done |
        awk -F'[:,]' -v name="$2" '{
            for (i = 2; i <= NF; i++) { split($i, w, " "); n[w[2]] += w[1] }
        } END {
            printf "oracle campaign total (%s): %d statements, %d accepted (%.0f%%), %d judged, %d not executable, %d skipped, %d differences\n",
                name, n["statements"], n["accepted"], n["statements"] ? 100 * n["accepted"] / n["statements"] : 0,
                n["judged"], n["not"], n["skipped"], n["differences"]
        }'
}
summary=$(total_of generated generator)
child_summary=$(total_of children "child tables")
echo "$summary"
echo "$child_summary"
echo "oracle campaign took $(($(date +%s) - started)) s"
if [ "$missing" -ne 0 ]; then
    exit 2
fi
case "$summary$child_summary" in
*" 0 differences"*" 0 differences") exit 0 ;;
*) exit 1 ;;
esac
