#!/usr/bin/env bash
# A local demo federation: N techmesh nodes on 127.0.0.1 with keys, mutual trust
# lists and the sample data of scripts/demo-data (Hubei, Guangdong, Sichuan, a
# China–Africa centre in Kenya, a Kazakh partner; Chinese/English/French/Russian).
#
#   scripts/devnet.sh [--nodes N] [--dir DIR] [--base-port P] [--no-wait]
#
# Nodes listen on P2P ports BASE.., APIs on BASE+100.., admin APIs on BASE+200..;
# Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."

NODES=5
DIR=.devnet
BASE=7700
WAIT=1
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) NODES="$2"; shift 2 ;;
    --dir) DIR="$2"; shift 2 ;;
    --base-port) BASE="$2"; shift 2 ;;
    --no-wait) WAIT=0; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "devnet: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$NODES" in ''|*[!0-9]*) echo "devnet: --nodes needs a number, got '$NODES'" >&2; exit 2 ;; esac
[ "$NODES" -ge 2 ] || { echo "devnet: --nodes must be at least 2" >&2; exit 2; }

echo "building techmesh (first time: a few minutes)..."
cargo build --release -q -p techmesh-node --bin techmesh
TM="$PWD/target/release/techmesh"

# name country region data-file
PROFILES=(
  "hubei CN CN-HB entries-hubei.jsonl"
  "guangdong CN CN-GD entries-guangdong.jsonl"
  "sichuan CN CN-SC entries-sichuan.jsonl"
  "cacic-kenya KE KE-30 entries-africa.jsonl"
  "kazakhstan KZ - entries-kazakhstan.jsonl"
)

rm -rf "$DIR"
mkdir -p "$DIR"
names=(); countries=(); pubs=(); peers=()
for i in $(seq 0 $((NODES - 1))); do
  if [ "$i" -lt "${#PROFILES[@]}" ]; then
    read -r name country region data <<<"${PROFILES[$i]}"
  else
    name="county-$i"; country=CN; region=CN-HB; data=""
  fi
  d="$DIR/$name"
  args=(--data-dir "$d" init --name "$name" --country "$country")
  [ "$region" != "-" ] && args+=(--region "$region")
  "$TM" "${args[@]}" >/dev/null
  sed -i "s#^listen = \[\"/ip4/0.0.0.0/tcp/7700\"\]#listen = [\"/ip4/127.0.0.1/tcp/$((BASE + i))\"]#; s#^listen = \"127.0.0.1:7780\"#listen = \"127.0.0.1:$((BASE + 100 + i))\"#; s#^listen = \"127.0.0.1:7781\"#listen = \"127.0.0.1:$((BASE + 200 + i))\"#; s#^interval_secs = 30#interval_secs = 5#" "$d/node.toml"
  if [ -n "$data" ]; then
    "$TM" --data-dir "$d" import "scripts/demo-data/$data" 2>&1 | sed "s#^#  $name: #"
  fi
  # Spreadsheet libraries (scripts/demo-data/spreadsheets/): Hubei's XLSX, Kenya's English CSV.
  case "$name" in
    hubei) sheet=hubei-library.xlsx ;;
    cacic-kenya) sheet=partner-library-en.csv ;;
    *) sheet="" ;;
  esac
  if [ -n "$sheet" ]; then
    "$TM" --data-dir "$d" import "scripts/demo-data/spreadsheets/$sheet" 2>&1 | sed "s#^#  $name: #"
  fi
  if [ "$name" = hubei ]; then
    "$TM" --data-dir "$d" import scripts/demo-data/events.jsonl 2>&1 | sed "s#^#  $name: #"
    for m in scripts/demo-data/mappings-*.json; do "$TM" --data-dir "$d" publish "$m" >/dev/null; done
    echo "  $name: published 3 mapping sets"
  fi
  id=$("$TM" --data-dir "$d" id)
  names+=("$name"); countries+=("$country")
  pubs+=("$(echo "$id" | sed -n 's/.*"publisher": "\([0-9a-f]*\)".*/\1/p')")
  peers+=("$(echo "$id" | sed -n 's/.*"peer_id": "\([A-Za-z0-9]*\)".*/\1/p')")
done

# Mutual trust: everyone admits everyone; Hubei is the mapping authority.
for i in $(seq 0 $((NODES - 1))); do
  t="$DIR/${names[$i]}/trust.toml"
  : >"$t"
  for j in $(seq 0 $((NODES - 1))); do
    [ "$i" = "$j" ] && continue
    {
      echo "[[member]]"
      echo "name = \"${names[$j]}\""
      echo "country = \"${countries[$j]}\""
      echo "publisher_keys = [\"${pubs[$j]}\"]"
      echo "peer_ids = [\"${peers[$j]}\"]"
      echo "addresses = [\"/ip4/127.0.0.1/tcp/$((BASE + j))\"]"
      echo "roles = [\"publish_entries\", \"publish_events\"]"
      [ "${names[$j]}" = hubei ] && echo "publish_mappings = [\"gbt4754->nace2\", \"nace2->isic4\", \"ipc->wipo35\"]"
      echo
    } >>"$t"
  done
done

pids=()
stop() {
  echo; echo "stopping the federation..."
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM
for i in $(seq 0 $((NODES - 1))); do
  d="$DIR/${names[$i]}"
  RUST_LOG=${RUST_LOG:-info} "$TM" --data-dir "$d" run >"$d/stdout.log" 2>"$d/node.log" &
  pids+=($!)
done
for i in $(seq 0 $((NODES - 1))); do
  d="$DIR/${names[$i]}"
  for _ in $(seq 1 200); do [ -s "$d/api.addr" ] && break; sleep 0.1; done
done

echo
echo "waiting for every node to connect to the others..."
for _ in $(seq 1 300); do
  ok=1
  for i in $(seq 0 $((NODES - 1))); do
    n=$("$TM" --data-dir "$DIR/${names[$i]}" status 2>/dev/null | sed -n 's/.*"peers_connected": \([0-9]*\).*/\1/p' || true)
    [ "${n:-0}" -ge $((NODES - 1)) ] || ok=0
  done
  [ "$ok" = 1 ] && break
  sleep 0.2
done
sleep 3  # one sync round, so the counts below show the replicated library

printf '\n%-12s %-8s %-22s %s\n' NODE COUNTRY API RECORDS
for i in $(seq 0 $((NODES - 1))); do
  d="$DIR/${names[$i]}"
  total=$("$TM" --data-dir "$d" status | sed -n 's/.*"records_total": \([0-9]*\).*/\1/p' || true)
  printf '%-12s %-8s %-22s %s\n' "${names[$i]}" "${countries[$i]}" "http://$(cat "$d/api.addr")" "$total"
done
cat <<TXT

The federation is running. Open the web console of any node in a browser: the API
address above (e.g. http://$(cat "$DIR/hubei/api.addr")/); its admin console is at
http://$(cat "$DIR/hubei/admin.addr" 2>/dev/null || echo "<admin.addr>")/#/admin with the token in $DIR/hubei/admin.token.
Or try, in another terminal:
  target/release/techmesh --data-dir $DIR/cacic-kenya list          # what Kenya received
  target/release/techmesh --data-dir $DIR/hubei peers               # peers and sync state
  target/release/techmesh --data-dir $DIR/hubei status
  target/release/techmesh --data-dir $DIR/hubei search 电池                        # Chinese full text
  target/release/techmesh --data-dir $DIR/hubei search 电池 --federated            # ask every peer too
  target/release/techmesh --data-dir $DIR/cacic-kenya match cacic-2026-0103       # explained matches
  target/release/techmesh --data-dir $DIR/hubei translate gbt4754:C3841 --to isic4
  target/release/techmesh --data-dir $DIR/hubei events agenda cacic-2027-matchmaking
Logs: $DIR/<node>/node.log. National-scope entries stay in China: compare the counts.
TXT
if [ "$WAIT" = 1 ]; then
  echo "Press Ctrl-C to stop."
  wait
fi
