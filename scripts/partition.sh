#!/usr/bin/env bash
# Partitions on real hosts (issue 8, item 2): 5 techmesh nodes, each in its own
# network namespace (veth pairs on a bridge in a namespace of its own), a workload
# (publish on several nodes, withdraw some), then a schedule of faults:
#
#   1. partition {hubei, guangdong, sichuan} | {shanghai, kenya} (blackhole routes),
#      publish and withdraw on both sides, heal;
#   2. cut kenya's link, SIGKILL sichuan, publish and withdraw, restart sichuan,
#      restore kenya's link;
#
# and after each heal the set checker (scripts/partition/check.py) polls until
# every acknowledged record is on every entitled node (national records stay in
# their country: kenya is KE, the others CN), no withdrawn record is current
# anywhere and nothing unexpected appeared. Prints the convergence times as
# `FIGURE name=value` lines. Namespaces and processes are removed on exit.
#
#   scripts/partition.sh [--check-env] [--keep] [--hold SECS] [--deadline SECS]
#
#   --check-env   only say whether this host can run it (root and `ip netns`);
#                 exit 0 if it can, 1 (after "skipped: ...") if it cannot
#   --keep        keep the data dirs (logs) under the printed work dir
#   --hold        how long each fault lasts once the workload is in (default 15;
#                 several sync rounds fail across the cut meanwhile)
#   --deadline    longest wait for convergence after a heal (default 90)
# TECHMESH_BIN: the binary to run (default: the debug build, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

CHECK_ONLY=0
KEEP=0
DEADLINE=90
HOLD=15
while [ $# -gt 0 ]; do
  case "$1" in
    --check-env) CHECK_ONLY=1; shift ;;
    --keep) KEEP=1; shift ;;
    --deadline) DEADLINE="$2"; shift 2 ;;
    --hold) HOLD="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "partition: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

RUN=$(( $$ % 10000 ))
PREFIX="tmp$RUN"
BRNS="${PREFIX}br"

# --- can this host run it? -------------------------------------------------------
env_problem() {
  [ "$(id -u)" = 0 ] || { echo "not root"; return; }
  command -v ip >/dev/null || { echo "no ip command"; return; }
  command -v python3 >/dev/null || { echo "no python3"; return; }
  local probe="${PREFIX}probe"
  if ! ip netns add "$probe" 2>/dev/null; then echo "ip netns add fails"; return; fi
  local veth_ok=1
  ip -n "$probe" link add "${PREFIX}a" type veth peer name "${PREFIX}b" 2>/dev/null || veth_ok=0
  ip netns del "$probe" 2>/dev/null || true
  [ "$veth_ok" = 1 ] || echo "cannot create veth pairs"
}
problem=$(env_problem)
if [ -n "$problem" ]; then
  echo "skipped: partitions on real hosts need root and ip netns ($problem)"
  exit 1
fi
if [ "$CHECK_ONLY" = 1 ]; then
  echo "ok: root and ip netns available"
  exit 0
fi

# --- setup -----------------------------------------------------------------------
TM="${TECHMESH_BIN:-}"
if [ -z "$TM" ]; then
  target="${CARGO_TARGET_DIR:-target}"
  case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
  cargo build -q -p techmesh-node --bin techmesh
  TM="$target/debug/techmesh"
fi
CHECK=scripts/partition/check.py
WORK=$(mktemp -d "${TMPDIR:-/tmp}/techmesh-partition.XXXXXX")
NET="10.231.$(( RUN % 200 + 20 ))"
NAMES=(hubei guangdong sichuan shanghai kenya)
COUNTRIES=(CN CN CN CN KE)
N=${#NAMES[@]}
declare -a PIDS PUBS PEERS

ns() { echo "${PREFIX}n$1"; }
dir() { echo "$WORK/${NAMES[$1]}"; }
addr() { echo "$NET.$(( $1 + 1 ))"; }
# tm I ARGS...: the CLI of node I, inside its namespace (it talks to the node's API on
# the namespace's loopback).
tm() { local i=$1; shift; ip netns exec "$(ns "$i")" "$TM" --data-dir "$(dir "$i")" "$@"; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[%6ss] %s\n' "$(since "$T_START")" "$*"; }

# stop PID: SIGKILL it and wait until it is gone (nodes are disowned: no job notices).
stop() {
  kill -KILL "$1" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
}

cleanup() {
  local rc=$?
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && stop "$p"; done
  for i in $(seq 0 $((N - 1))); do ip netns del "$(ns "$i")" 2>/dev/null || true; done
  ip netns del "$BRNS" 2>/dev/null || true
  if [ "$KEEP" = 1 ] || [ "$rc" != 0 ]; then
    echo "work dir kept: $WORK (node logs: */node.log)"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT INT TERM
T_START=$(date +%s.%N)

ip netns add "$BRNS"
ip -n "$BRNS" link add br0 type bridge
ip -n "$BRNS" link set br0 up
for i in $(seq 0 $((N - 1))); do
  ip netns add "$(ns "$i")"
  ip -n "$(ns "$i")" link set lo up
  ip link add "${PREFIX}h$i" type veth peer name "${PREFIX}n$i"
  ip link set "${PREFIX}h$i" netns "$BRNS"
  ip link set "${PREFIX}n$i" netns "$(ns "$i")"
  ip -n "$BRNS" link set "${PREFIX}h$i" master br0 up
  ip -n "$(ns "$i")" link set "${PREFIX}n$i" name eth0
  ip -n "$(ns "$i")" addr add "$(addr "$i")/24" dev eth0
  ip -n "$(ns "$i")" link set eth0 up
done
log "5 namespaces on bridge $BRNS/br0, $NET.0/24"

for i in $(seq 0 $((N - 1))); do
  d=$(dir "$i")
  "$TM" --data-dir "$d" init --name "${NAMES[$i]}" --country "${COUNTRIES[$i]}" >/dev/null
  sed -i 's/^interval_secs = 30/interval_secs = 2/; s/^heartbeat_ms = 700/heartbeat_ms = 200/; s/^redial_max_secs = 60/redial_max_secs = 2/' "$d/node.toml"
  id=$("$TM" --data-dir "$d" id)
  PUBS[$i]=$(echo "$id" | sed -n 's/.*"publisher": "\([0-9a-f]*\)".*/\1/p')
  PEERS[$i]=$(echo "$id" | sed -n 's/.*"peer_id": "\([A-Za-z0-9]*\)".*/\1/p')
done
for i in $(seq 0 $((N - 1))); do
  t="$(dir "$i")/trust.toml"
  : >"$t"
  for j in $(seq 0 $((N - 1))); do
    [ "$i" = "$j" ] && continue
    printf '[[member]]\nname = "%s"\ncountry = "%s"\npublisher_keys = ["%s"]\npeer_ids = ["%s"]\naddresses = ["/ip4/%s/tcp/7700"]\nroles = ["publish_entries", "publish_events"]\n\n' \
      "${NAMES[$j]}" "${COUNTRIES[$j]}" "${PUBS[$j]}" "${PEERS[$j]}" "$(addr "$j")" >>"$t"
  done
done

start_node() {
  local i=$1 d
  d=$(dir "$i")
  : >"$d/stdout.log"
  ip netns exec "$(ns "$i")" env RUST_LOG=info "$TM" --data-dir "$d" run \
    --listen "/ip4/$(addr "$i")/tcp/7700" --api 127.0.0.1:7780 --admin 127.0.0.1:7781 \
    >"$d/stdout.log" 2>>"$d/node.log" &
  PIDS[$i]=$!
  disown "$!"
  for _ in $(seq 1 300); do grep -q '"ready"' "$d/stdout.log" 2>/dev/null && return; sleep 0.1; done
  echo "partition: ${NAMES[$i]} did not start; log:" >&2
  tail -20 "$d/node.log" >&2
  exit 1
}

status_field() { tm "$1" status 2>/dev/null | sed -n "s/.*\"$2\": \([a-z0-9]*\).*/\1/p" | head -1; }

wait_for() {  # wait_for WHAT SECS COMMAND...
  local what=$1 secs=$2; shift 2
  local until=$(( $(date +%s) + secs ))
  while ! "$@"; do
    if [ "$(date +%s)" -ge "$until" ]; then echo "partition: timed out waiting for $what" >&2; exit 1; fi
    sleep 0.2
  done
}
all_connected() {
  for i in $(seq 0 $((N - 1))); do
    [ "$(status_field "$i" peers_connected)" -ge $((N - 1)) ] 2>/dev/null || return 1
  done
}
confirmed() { [ "$(status_field "$1" seq_confirmed_by_peer)" = true ]; }

for i in $(seq 0 $((N - 1))); do start_node "$i"; done
wait_for "a full mesh" 120 all_connected
for i in $(seq 0 $((N - 1))); do wait_for "${NAMES[$i]}'s seq confirmed" 60 confirmed "$i"; done
log "5 nodes running, full mesh"

# --- workload --------------------------------------------------------------------
ACKED="$WORK/acked.tsv"; WITHDRAWN="$WORK/withdrawn.tsv"
: >"$ACKED"; : >"$WITHDRAWN"
publish() {  # publish NODE LOCAL_ID SCOPE
  local i=$1 lid=$2 scope=$3 f out
  f="$WORK/body-$lid.json"
  printf '{"local_id":"%s","entry_type":"offer","title":{"en":"partition test %s"},"summary":{"en":"published by %s"},"classifications":[{"scheme":"ipc","code":"H01M 10/0525"}],"transfer_modes":["licence"],"trl":{"scheme":"trl-eu","level":6},"organisation":{"name":{"en":"Test"},"kind":"university","country":"%s"},"valid_from":"2026-03-01","valid_until":"2027-03-01","scope":"%s"}\n' \
    "$lid" "$lid" "${NAMES[$i]}" "${COUNTRIES[$i]}" "$scope" >"$f"
  out=$(tm "$i" publish "$f")
  echo "$out" | grep -q '"status":"inserted"' || { echo "partition: publish $lid on ${NAMES[$i]} not acknowledged: $out" >&2; exit 1; }
  printf '%s/entry/%s\t%s\t%s\n' "${PUBS[$i]}" "$lid" "$scope" "${COUNTRIES[$i]}" >>"$ACKED"
}
withdraw() {  # withdraw NODE LOCAL_ID
  local i=$1 lid=$2 out
  out=$(tm "$i" withdraw "entry/$lid")
  echo "$out" | grep -q '"status":"inserted"\|"status":"replaced"' || { echo "partition: withdraw $lid on ${NAMES[$i]} not acknowledged: $out" >&2; exit 1; }
  echo "${PUBS[$i]}/entry/$lid" >>"$WITHDRAWN"
}

# check [--quiet]: dump every running node and run the set checker.
check() {
  local specs=() i
  for i in $(seq 0 $((N - 1))); do
    tm "$i" list --all --json >"$WORK/dump-$i.jsonl" 2>/dev/null || return 2
    specs+=("${NAMES[$i]}=${COUNTRIES[$i]}=$WORK/dump-$i.jsonl")
  done
  python3 "$CHECK" --acked "$ACKED" --withdrawn "$WITHDRAWN" "$@" "${specs[@]}"
}
# converge NAME: poll the checker from now on; print the time it took as a FIGURE.
converge() {
  local name=$1 t0 out rc
  t0=$(date +%s.%N)
  while true; do
    rc=0; out=$(check --quiet) || rc=$?
    if echo "$out" | grep -q 'leaked='; then
      check || true
      echo "partition: a national record reached a node abroad" >&2; exit 1
    fi
    [ "$rc" = 0 ] && break
    if awk -v t="$(since "$t0")" -v d="$DEADLINE" 'BEGIN { exit !(t > d) }'; then
      check || true
      echo "partition: not converged $DEADLINE s after $name" >&2; exit 1
    fi
    sleep 0.3
  done
  local took; took=$(since "$t0")
  log "$name: converged in ${took}s — $out"
  echo "FIGURE ${name}_convergence_s=$took"
}

for i in 0 1 3 4; do
  publish "$i" "p1-${NAMES[$i]}-fed" federation
  publish "$i" "p1-${NAMES[$i]}-nat" national
done
publish 0 p1-hubei-intl international
converge initial

# --- fault 1: two sides --------------------------------------------------------------
SIDE_A=(0 1 2); SIDE_B=(3 4)
cut_sides() {  # cut_sides add|del
  local a b
  for a in "${SIDE_A[@]}"; do for b in "${SIDE_B[@]}"; do
    ip -n "$(ns "$a")" route "$1" blackhole "$(addr "$b")/32"
    ip -n "$(ns "$b")" route "$1" blackhole "$(addr "$a")/32"
  done; done
}
cut_sides add
log "partitioned {hubei, guangdong, sichuan} | {shanghai, kenya}"
publish 0 p2-hubei-fed federation
publish 2 p2-sichuan-nat national
publish 3 p2-shanghai-fed federation
publish 4 p2-kenya-nat national
publish 4 p2-kenya-fed federation
withdraw 1 p1-guangdong-fed
withdraw 3 p1-shanghai-nat
withdraw 4 p1-kenya-fed
# The cut holds: a record spreads on its own side and not across.
holds() { tm "$1" get "$2" >/dev/null 2>&1; }
wait_for "hubei's record on guangdong (same side)" 60 holds 1 "${PUBS[0]}/entry/p2-hubei-fed"
wait_for "shanghai's record on kenya (same side)" 60 holds 4 "${PUBS[3]}/entry/p2-shanghai-fed"
for pair in "3 0 p2-hubei-fed" "4 0 p2-hubei-fed" "0 3 p2-shanghai-fed" "2 3 p2-shanghai-fed"; do
  read -r at from lid <<<"$pair"
  if holds "$at" "${PUBS[$from]}/entry/$lid"; then
    echo "partition: ${NAMES[$at]} got $lid across the cut" >&2; exit 1
  fi
done
log "the cut holds: records spread on their own side only; holding it ${HOLD}s"
sleep "$HOLD"
cut_sides del
log "healed"
converge partition_heal

# --- fault 2: a cut link and a crashed node ----------------------------------------
ip -n "$BRNS" link set "${PREFIX}h4" down
log "kenya's link down"
stop "${PIDS[2]}"
PIDS[2]=""
log "sichuan killed (SIGKILL)"
publish 0 p3-hubei-fed federation
publish 0 p3-hubei-nat national
publish 4 p3-kenya-fed federation
withdraw 0 p2-hubei-fed
withdraw 4 p2-kenya-nat
wait_for "hubei's record on guangdong" 60 holds 1 "${PUBS[0]}/entry/p3-hubei-fed"
if holds 4 "${PUBS[0]}/entry/p3-hubei-fed"; then
  echo "partition: kenya got p3-hubei-fed with its link down" >&2; exit 1
fi
log "holding the faults ${HOLD}s"
sleep "$HOLD"
start_node 2
log "sichuan restarted"
ip -n "$BRNS" link set "${PREFIX}h4" up
log "kenya's link up"
converge kill_restart_heal

check
log "done: every acknowledged record on every entitled node, withdrawals held, nothing unexpected"
