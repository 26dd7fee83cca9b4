#!/usr/bin/env bash
# Fuzzing with cargo-fuzz (libFuzzer) on a nightly toolchain: docs/SECURITY.md "Fuzzing".
#
#   scripts/fuzz.sh list                    the targets
#   scripts/fuzz.sh run TARGET [MINUTES]    fuzz one target (default 10 minutes) on its
#                                           corpus fuzz/corpus/TARGET; prints its figures
#   scripts/fuzz.sh all [MINUTES]           every target in turn
#   scripts/fuzz.sh cmin TARGET             minimise the corpus of TARGET in place
#   scripts/fuzz.sh seed                    (re)write the seed inputs from docs/vectors,
#                                           scripts/demo-data and fuzz/examples/seeds.rs
#   scripts/fuzz.sh check                   run every target once over its corpus (no fuzzing)
#
# Installs cargo-fuzz (`cargo install cargo-fuzz --locked`) if it is missing; needs
# `rustup toolchain install nightly`. Runs under `nice -n 10`. Crashes are written to
# fuzz/artifacts/TARGET/ (reproduce: cargo +nightly fuzz run TARGET FILE). Logs are
# kept in ${CARGO_TARGET_DIR:-target}/fuzz-results/.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(record_verify sync_messages query_messages config_files jsonl_import sssom_parse)
# Largest input libFuzzer generates: a record may be 128 KiB, but small inputs find
# more per second; seeds larger than this are still read whole.
max_len=16384

target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
fuzz_target_dir="$target_dir/fuzz"
results="$target_dir/fuzz-results"

need_cargo_fuzz() {
  if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
  fi
  if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "a nightly toolchain is needed: rustup toolchain install nightly" >&2
    exit 1
  fi
}

known() {
  local t
  for t in "${targets[@]}"; do [ "$t" = "$1" ] && return 0; done
  echo "unknown target ${1:-(none)}; targets: ${targets[*]}" >&2
  exit 2
}

run() {
  local target=$1 minutes=${2:-10}
  known "$target"
  need_cargo_fuzz
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target" "$results"
  local log="$results/$target.log"
  echo "== fuzzing $target for $minutes minute(s) (log: $log)"
  local rc=0
  nice -n 10 cargo +nightly fuzz run --target-dir "$fuzz_target_dir" "$target" \
    "fuzz/corpus/$target" -- \
    -max_total_time=$((minutes * 60)) -max_len=$max_len -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$target/" >"$log" 2>&1 || rc=$?
  local execs cov crashes secs
  execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  cov=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]*' | tail -n1 | awk '{print $2}')
  crashes=$(find "fuzz/artifacts/$target" -type f -name 'crash-*' | wc -l)
  secs=$(grep -m1 -o 'Done [0-9]* runs in [0-9]* second' "$log" | awk '{print $5}')
  echo "FUZZ target=$target seconds=${secs:-?} execs=${execs:-?} cov=${cov:-?} corpus=$(find "fuzz/corpus/$target" -type f | wc -l) crashes=$crashes exit=$rc"
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "$log"
    return 1
  fi
}

case "${1:-}" in
  list) printf '%s\n' "${targets[@]}" ;;
  run) shift; run "$@" ;;
  all)
    for t in "${targets[@]}"; do run "$t" "${2:-10}"; done ;;
  cmin)
    known "${2:-}"
    need_cargo_fuzz
    nice -n 10 cargo +nightly fuzz cmin --target-dir "$fuzz_target_dir" "$2" "fuzz/corpus/$2" -- -max_len=$max_len ;;
  check)
    need_cargo_fuzz
    for t in "${targets[@]}"; do
      nice -n 10 cargo +nightly fuzz run --target-dir "$fuzz_target_dir" "$t" "fuzz/corpus/$t" -- -runs=0 -max_len=$max_len
    done ;;
  seed)
    (cd fuzz && CARGO_TARGET_DIR="$fuzz_target_dir" cargo run -q --example seeds -- corpus)
    python3 - <<'PY'
import json, pathlib
root = pathlib.Path("fuzz/corpus")
for t in ("record_verify", "jsonl_import", "sssom_parse"):
    (root / t).mkdir(parents=True, exist_ok=True)
vectors = pathlib.Path("docs/vectors")
for name in json.loads((vectors / "index.json").read_text()):
    v = json.loads((vectors / name).read_text())
    raw = bytes.fromhex(v["record_hex"]) if v.get("record_hex") else v["record"].encode()
    (root / "record_verify" / f"vector-{v['name']}").write_bytes(raw)
    if v.get("expect") == "valid":
        (root / "jsonl_import" / f"signed-{v['name']}").write_bytes(raw + b"\n")
demo = pathlib.Path("scripts/demo-data")
for f in sorted(demo.glob("*.jsonl")):
    lines = [l for l in f.read_text().splitlines() if l.strip()]
    (root / "jsonl_import" / f"demo-{f.stem}").write_text("\n".join(lines[:3]) + "\n")
for f in sorted(demo.glob("mappings-*.json")):
    body = json.dumps(json.loads(f.read_text()), ensure_ascii=False)
    (root / "jsonl_import" / f"demo-{f.stem}").write_text(body + "\n")
for f in sorted((demo / "sssom").glob("*.tsv")):
    (root / "sssom_parse" / f"demo-{f.name}").write_bytes(f.read_bytes())
PY
    for t in "${targets[@]}"; do echo "$t: $(find "fuzz/corpus/$t" -type f | wc -l) inputs"; done ;;
  -h|--help|"")
    sed -n '2,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' ;;
  *) echo "unknown command $1 (see scripts/fuzz.sh --help)" >&2; exit 2 ;;
esac
