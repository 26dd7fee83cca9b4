#!/usr/bin/env bash
# Runs the benchmarks of docs/BENCHMARKS.md in release and prints their figures.
#
#   scripts/bench.sh [ingest|store|sync|search|translate|federation|fedsearch|flood|all]   (default: all)
#
# ingest, store, sync, search: node/benches/NAME.rs, plain binaries (harness = false) that
# re-run themselves pinned to one core with `taskset` and print their figures as
# Markdown tables plus `RATIO ...` lines. translate: protocol/benches/translate.rs.
# federation: tests/benches/federation.rs, real release nodes on 127.0.0.1
# (TECHMESH_BIN is set to the release build of `techmesh`); flood:
# tests/benches/flood.rs, the same with a flooding member (not part of `all`).
# fedsearch: tests/benches/fedsearch.rs, federated search across 10 release peers
# (all up; then one dead and one SIGSTOP'd peer with a deadline).
# crash: tests/benches/crash.rs, the crash-consistency harness (not part of `all`;
# `scripts/bench.sh crash --kills N --records N --seed S --phase import|sync|both`:
# arguments after the name go to the benchmark). A copy of each
# output is kept under ${CARGO_TARGET_DIR:-target}/bench-results/.
#
# Environment (passed through to the benchmarks):
#   TECHMESH_BENCH_RECORDS       records of `ingest` (default 20000) and `store` (default 1000000)
#   TECHMESH_BENCH_SYNC_RECORDS  records per store of `sync` (default 100000)
#   TECHMESH_BENCH_REPS          repetitions of `ingest` (default 5)
#   TECHMESH_BENCH_DIR           where the benchmark stores are created (default the target's tmp dir)
#   TECHMESH_BENCH_NO_PIN=1      do not pin to one core
#   TECHMESH_BENCH_SYNC_SWEEP=1  `sync` also runs a grid of reconciliation constants (slow)
#   TECHMESH_BENCH_SEARCH_ENTRIES entries of `search` (default 200000)
# The full `store` run (1 M records) needs ~16 GB of free disk and 20-25 minutes;
# `sync` ~3 GB and ~5 minutes; `ingest` ~3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
# Arguments after the benchmark name go to it (crash: --kills N ...).
extra=("${@:2}")
case "$what" in
  ingest) benches=(ingest) ;;
  store) benches=(store_1m) ;;
  sync) benches=(sync) ;;
  search) benches=(search) ;;
  translate) benches=(translate) ;;
  federation) benches=(federation) ;;
  fedsearch) benches=(fedsearch) ;;
  flood) benches=(flood) ;;
  crash) benches=(crash) ;;
  all) benches=(ingest store_1m sync search translate federation fedsearch) ;;
  -h|--help)
    sed -n '2,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit 0 ;;
  *)
    echo "usage: scripts/bench.sh [ingest|store|sync|search|translate|federation|fedsearch|flood|all]" >&2
    exit 2 ;;
esac

target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
results="$target_dir/bench-results"
mkdir -p "$results"

# Which package holds each benchmark.
package() {
  case "$1" in
    translate) echo techmesh-protocol ;;
    federation|fedsearch|flood|crash) echo techmesh-tests ;;
    *) echo techmesh-node ;;
  esac
}

echo "== building the benchmarks (release)"
for b in "${benches[@]}"; do
  cargo bench -q -p "$(package "$b")" --bench "$b" --no-run
  if [ "$b" = federation ] || [ "$b" = fedsearch ] || [ "$b" = flood ] || [ "$b" = crash ]; then
    cargo build -q --release -p techmesh-node --bin techmesh
    export TECHMESH_BIN="$target_dir/release/techmesh"
  fi
done

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
for b in "${benches[@]}"; do
  echo
  echo "== cargo bench -p $(package "$b") --bench $b"
  cargo bench -q -p "$(package "$b")" --bench "$b" -- "${extra[@]}" | tee "$results/$b.txt"
done
echo
echo "== figures kept in $results/"
