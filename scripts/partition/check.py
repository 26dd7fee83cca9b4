#!/usr/bin/env python3
"""Set checker of scripts/partition.sh: compares what every node holds with what was
acknowledged. Standard library only.

    check.py --acked ACKED.tsv --withdrawn WITHDRAWN.tsv NODE=COUNTRY=DUMP.jsonl ...

ACKED.tsv: one acknowledged publish per line: `id<TAB>scope<TAB>publisher country`.
WITHDRAWN.tsv: one acknowledged withdrawal per line: `id`.
DUMP.jsonl: the node's `techmesh list --all --json` (signed records, tombstones too).

A node is *entitled* to a record unless the record is `national` and the node is in
another country. After a heal, for every node:
  - missing:     an acknowledged, not withdrawn record it is entitled to, not held;
  - resurrected: a withdrawn record held as a current (not withdrawn) record;
  - tombstone:   a withdrawn record it was entitled to, without the tombstone;
  - leaked:      a national record of another country (never allowed, at any time);
  - unexpected:  a record nobody acknowledged.
Exit 0 iff every list is empty. `--quiet` prints one summary line.
"""

import argparse
import json
import sys


def record_id(rec):
    """`publisher/kind/local_id`; a tombstone has the identity of what it withdraws."""
    body = rec.get("body", {})
    kind = rec.get("kind")
    if kind == "tombstone":
        kind = body.get("target_kind")
    return f"{rec.get('publisher')}/{kind}/{body.get('local_id')}"


def load_dump(path):
    held = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{n}: not JSON ({e})")
            held[record_id(rec)] = rec
    return held


def load_acked(path):
    acked = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise SystemExit(f"{path}:{n}: want id, scope, country separated by tabs")
            acked[parts[0]] = {"scope": parts[1], "country": parts[2]}
    return acked


def load_lines(path):
    with open(path, encoding="utf-8") as f:
        return {line.strip() for line in f if line.strip()}


def entitled(node_country, meta):
    return meta["scope"] != "national" or meta["country"] == node_country


def check_node(country, held, acked, withdrawn):
    problems = {k: [] for k in ("missing", "resurrected", "tombstone", "leaked", "unexpected")}
    for rid, meta in acked.items():
        rec = held.get(rid)
        current = rec is not None and rec.get("kind") != "tombstone"
        if rid in withdrawn:
            if current:
                problems["resurrected"].append(rid)
            elif rec is None and entitled(country, meta):
                problems["tombstone"].append(rid)
        elif entitled(country, meta) and not current:
            problems["missing"].append(rid)
    for rid, rec in held.items():
        meta = acked.get(rid)
        if meta is None:
            problems["unexpected"].append(rid)
        elif rec.get("kind") != "tombstone" and not entitled(country, meta):
            problems["leaked"].append(rid)
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--acked", required=True)
    ap.add_argument("--withdrawn", required=True)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("nodes", nargs="+", help="NAME=COUNTRY=DUMP.jsonl")
    a = ap.parse_args()
    acked = load_acked(a.acked)
    withdrawn = load_lines(a.withdrawn)
    unknown = withdrawn - acked.keys()
    if unknown:
        raise SystemExit(f"{a.withdrawn}: withdrawn but never acknowledged: {sorted(unknown)}")
    ok = True
    summary = []
    for spec in a.nodes:
        try:
            name, country, dump = spec.split("=", 2)
        except ValueError:
            raise SystemExit(f"{spec!r}: want NAME=COUNTRY=DUMP.jsonl")
        held = load_dump(dump)
        problems = check_node(country, held, acked, withdrawn)
        bad = {k: v for k, v in problems.items() if v}
        ok = ok and not bad
        summary.append(f"{name}:{len(held)}" + ("" if not bad else "!" + ",".join(
            f"{k}={len(v)}" for k, v in bad.items())))
        if bad and not a.quiet:
            for k, ids in bad.items():
                for rid in sorted(ids):
                    print(f"{name} ({country}): {k}: {rid}")
    verdict = "ok" if ok else "NOT CONVERGED"
    print(f"{verdict}: {len(acked)} acknowledged, {len(withdrawn)} withdrawn; held " + " ".join(summary))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
