#!/usr/bin/env python3
"""Evaluate techmesh matchmaking on a labelled set (see generate.py).

Imports the set and the demo mapping sets into a fresh data dir with the
`techmesh` CLI, then for every request runs `techmesh match ID --json` (the same
code as POST /v1/match) and `techmesh match ID --text-only --json` (a text-only
BM25 baseline over the same index, languages and stemming), and reports nDCG@10
and precision@5, overall and for the cross-language and cross-scheme slices.

Usage: evaluate.py SET_DIR [--bin PATH] [--json OUT] [--markdown]
"""
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TODAY = "2026-11-28"
MAPPINGS = ["mappings-gbt4754-nace2.json", "mappings-nace2-isic4.json", "mappings-ipc-wipo35.json"]


def arg(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def run(binary, data, *args):
    out = subprocess.run([binary, "--data-dir", str(data), *args], capture_output=True, text=True,
                         env={"RUST_LOG": "warn", "PATH": "/usr/bin:/bin"})
    if out.returncode != 0:
        sys.exit(f"techmesh {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout


def ndcg(ranked, relevant, k=10):
    dcg = sum(1 / math.log2(i + 2) for i, r in enumerate(ranked[:k]) if r in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def precision(ranked, relevant, k=5):
    return sum(1 for r in ranked[:k] if r in relevant) / k


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    set_dir = Path(sys.argv[1])
    binary = arg("--bin", str(ROOT / "target/release/techmesh"))
    labels = json.loads((set_dir / "labels.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "eval"
        run(binary, data, "init", "--name", "eval")
        for f in ("offers.jsonl", "requests.jsonl"):
            run(binary, data, "import", str(set_dir / f))
        for f in MAPPINGS:
            run(binary, data, "mappings", "import", str(ROOT / "scripts/demo-data" / f))
        rows = []
        for rid, lab in sorted(labels.items()):
            rel = set(lab["relevant"])
            got = {}
            for method, extra in (("match", []), ("bm25", ["--text-only"])):
                v = json.loads(run(binary, data, "match", rid, "--json", "--today", TODAY, "--limit", "10", *extra))
                got[method] = [r["local_id"] for r in v["results"]]
            rows.append(dict(id=rid, cross_language=lab["cross_language"], cross_scheme=lab["cross_scheme"],
                             **{f"{m}_ndcg10": ndcg(r, rel) for m, r in got.items()},
                             **{f"{m}_p5": precision(r, rel) for m, r in got.items()}))
    slices = {"overall": rows,
              "cross-language": [r for r in rows if r["cross_language"]],
              "cross-scheme": [r for r in rows if r["cross_scheme"]]}
    report = {}
    for name, rs in slices.items():
        mean = lambda key: sum(r[key] for r in rs) / len(rs) if rs else 0.0
        report[name] = {"requests": len(rs), **{k: round(mean(k), 3) for k in
                        ("match_ndcg10", "bm25_ndcg10", "match_p5", "bm25_p5")}}
    if arg("--json"):
        Path(arg("--json")).write_text(json.dumps({"slices": report, "per_request": rows}, indent=1))
    if "--markdown" in sys.argv:
        print("| slice | requests | nDCG@10 /v1/match | nDCG@10 BM25 | P@5 /v1/match | P@5 BM25 |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, r in report.items():
            print(f"| {name} | {r['requests']} | {r['match_ndcg10']:.3f} | {r['bm25_ndcg10']:.3f} "
                  f"| {r['match_p5']:.3f} | {r['bm25_p5']:.3f} |")
    else:
        print(json.dumps(report, indent=1))
    ok = report["overall"]["match_ndcg10"] >= 0.8 and \
        report["cross-scheme"]["match_ndcg10"] - report["cross-scheme"]["bm25_ndcg10"] >= 0.25
    print(("targets met" if ok else "TARGETS NOT MET") +
          " (nDCG@10 >= 0.8 overall; cross-scheme >= BM25 + 0.25)", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
