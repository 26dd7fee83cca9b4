#!/usr/bin/env bash
# Runs the benchmarks of docs/BENCHMARKS.md in release and prints their figures.
#
#   scripts/bench.sh [ingest|store|sync|all]      (default: all)
#
# Each benchmark is a plain binary (node/benches/NAME.rs, harness = false) that
# re-runs itself pinned to one core with `taskset` and prints its figures as
# Markdown tables plus `RATIO ...` lines. A copy of each output is kept under
# ${CARGO_TARGET_DIR:-target}/bench-results/.
#
# Environment (passed through to the benchmarks):
#   TECHMESH_BENCH_RECORDS       records of `ingest` (default 20000) and `store` (default 1000000)
#   TECHMESH_BENCH_SYNC_RECORDS  records per store of `sync` (default 100000)
#   TECHMESH_BENCH_REPS          repetitions of `ingest` (default 5)
#   TECHMESH_BENCH_DIR           where the benchmark stores are created (default the target's tmp dir)
#   TECHMESH_BENCH_NO_PIN=1      do not pin to one core
#   TECHMESH_BENCH_SYNC_SWEEP=1  `sync` also runs a grid of reconciliation constants (slow)
# The full `store` run (1 M records) needs ~16 GB of free disk and 20-25 minutes;
# `sync` ~3 GB and ~5 minutes; `ingest` ~3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
case "$what" in
  ingest) benches=(ingest) ;;
  store) benches=(store_1m) ;;
  sync) benches=(sync) ;;
  all) benches=(ingest store_1m sync) ;;
  -h|--help)
    sed -n '2,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit 0 ;;
  *)
    echo "usage: scripts/bench.sh [ingest|store|sync|all]" >&2
    exit 2 ;;
esac

results="${CARGO_TARGET_DIR:-target}/bench-results"
mkdir -p "$results"

echo "== building the benchmarks (release)"
for b in "${benches[@]}"; do
  cargo bench -q -p techmesh-node --bench "$b" --no-run
done

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
for b in "${benches[@]}"; do
  echo
  echo "== cargo bench -p techmesh-node --bench $b"
  cargo bench -q -p techmesh-node --bench "$b" | tee "$results/$b.txt"
done
echo
echo "== figures kept in $results/"
