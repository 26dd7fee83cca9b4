//! Local search benchmark: the node's in-memory search index (`query::SearchIndex`)
//! holding 200 000 entries, and `query::search` (the code behind `GET /v1/search`
//! and `techmesh search`) answering a mix of queries.
//!
//! Entries: the 53 demo entries of `scripts/demo-data/entries-*.jsonl` (zh, en, ru,
//! ar, fr, sw; IPC, GB/T 4754, NACE, CN tech fields, …) as templates, each copy with
//! its own local id, a model number in its title, a French title on one in four, a
//! classification code drawn from a pool of IPC groups, an organisation country,
//! TRL and validity of its own; signed by five publishers. Mapping sets: the demo
//! sets of `scripts/demo-data/mappings-*.json`, signed by the node itself (so they are
//! recognised). Reports the index build (time, RSS growth, peak RSS) and p50/p99 of
//! every query kind and of the whole mix.
//!
//! `cargo bench -p techmesh-node --bench search` (or `scripts/bench.sh search`).
//! Environment: `TECHMESH_BENCH_SEARCH_ENTRIES` (default 200000),
//! `TECHMESH_BENCH_SEARCH_ROUNDS` (passes over the query mix, default 20),
//! `TECHMESH_BENCH_NO_PIN=1`, `TECHMESH_BENCH_SEARCH_DUMP=FILE` (also write the
//! answer of every query of the mix and of [`extra_queries`] — sorts, filters, paging
//! — to FILE as JSON lines: compare two builds' files to see that the answers did not
//! change).

mod common;
use common::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use techmesh_node::mappings::Mappings;
use techmesh_node::query::{self, SearchIndex, SearchParams};
use techmesh_node::store::{SledStore, Store};
use techmesh_protocol::body::{self, Kind};
use techmesh_protocol::record::{Keypair, Record};
use techmesh_protocol::time::Timestamp;
use techmesh_protocol::trust::TrustList;

const TEMPLATES: [&str; 5] = [
    include_str!("../../scripts/demo-data/entries-africa.jsonl"),
    include_str!("../../scripts/demo-data/entries-guangdong.jsonl"),
    include_str!("../../scripts/demo-data/entries-hubei.jsonl"),
    include_str!("../../scripts/demo-data/entries-kazakhstan.jsonl"),
    include_str!("../../scripts/demo-data/entries-sichuan.jsonl"),
];
const MAPPING_SETS: [&str; 3] = [
    include_str!("../../scripts/demo-data/mappings-gbt4754-nace2.json"),
    include_str!("../../scripts/demo-data/mappings-ipc-wipo35.json"),
    include_str!("../../scripts/demo-data/mappings-nace2-isic4.json"),
];
/// IPC groups the copies are spread over (besides their template's own codes).
const IPC_POOL: [&str; 12] = [
    "H01M 10/0525",
    "H01M 4/38",
    "H02J 7/00",
    "H01L 31/18",
    "F03D 17/00",
    "A01G 25/02",
    "B61L 23/04",
    "A61B 8/44",
    "A61K 36/00",
    "C12N 1/20",
    "C22B 7/00",
    "G06Q 50/06",
];
const FR_TITLES: [&str; 8] = [
    "Cellules de batteries lithium-ion à haute sécurité",
    "Surveillance de l'état des pales d'éoliennes",
    "Irrigation goutte-à-goutte intelligente et fertigation",
    "Cellules solaires à hétérojonction à haut rendement",
    "Surveillance des voies ferrées par fibre optique",
    "Échographe portable pour le diagnostic",
    "Biofertilisant microbien pour sols salins",
    "Recyclage des déchets électroniques et métaux précieux",
];
const COUNTRIES: [&str; 8] = ["CN", "KZ", "KE", "EG", "NG", "ET", "SN", "FR"];
const BUILD_CHUNK: usize = 10_000;

fn templates() -> Vec<Value> {
    TEMPLATES
        .iter()
        .flat_map(|f| f.lines())
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("demo entry"))
        .filter(|v: &Value| body::detect_kind(v) == Kind::Entry)
        .collect()
}

/// Entry `i`: template `i % len`, made distinct and spread over codes and countries.
fn entry_value(templates: &[Value], i: usize) -> Value {
    let mut v = templates[i % templates.len()].clone();
    v["local_id"] = json!(format!("s-{i:07}"));
    if let Some(title) = v["title"].as_object_mut() {
        for t in title.values_mut() {
            let s = format!("{} M{}", t.as_str().unwrap_or(""), i % 5000);
            *t = json!(s);
        }
        if i % 4 == 1 {
            title.insert("fr".into(), json!(FR_TITLES[i / 4 % FR_TITLES.len()]));
        }
    }
    if let Some(classes) = v["classifications"].as_array_mut() {
        classes.push(json!({"scheme": "ipc", "code": IPC_POOL[i / 7 % IPC_POOL.len()]}));
        let mut seen = std::collections::BTreeSet::new();
        classes.retain(|c| seen.insert(c.to_string()));
    }
    let country = json!(COUNTRIES[i / 3 % COUNTRIES.len()]);
    if v["organisation"]["country"] != country {
        // A region names a subdivision of the template's country.
        if let Some(o) = v["organisation"].as_object_mut() {
            o.remove("region");
        }
        v["organisation"]["country"] = country;
    }
    if !i.is_multiple_of(5) {
        v["trl"] = json!({"scheme": "trl-eu", "level": 3 + (i % 7) as u64});
    }
    v["valid_from"] = json!("2025-09-01");
    // One in three expired on the benchmark's "today" (2026-11-28).
    v["valid_until"] = json!(["2026-06-30", "2027-03-31", "2027-08-31"][i % 3]);
    v
}

fn sign_entry(kps: &[Keypair], templates: &[Value], i: usize) -> Record {
    let v = entry_value(templates, i);
    let b = body::prepare(Kind::Entry, &v).unwrap_or_else(|e| panic!("entry {i}: {e}"));
    let issued = Timestamp(1_790_000_000 + i as i64);
    kps[i % kps.len()]
        .sign((i / kps.len()) as u64 + 1, issued, b)
        .expect("sign")
}

struct QueryKind {
    name: &'static str,
    params: Vec<SearchParams>,
}

fn p(f: impl FnOnce(&mut SearchParams)) -> SearchParams {
    let mut s = SearchParams {
        today: Some("2026-11-28".into()),
        ..Default::default()
    };
    f(&mut s);
    s
}

fn query_mix() -> Vec<QueryKind> {
    let texts = |qs: &[&str]| -> Vec<SearchParams> {
        qs.iter()
            .map(|q| p(|s| s.q = Some(q.to_string())))
            .collect()
    };
    vec![
        QueryKind {
            name: "text en",
            params: texts(&[
                "lithium battery",
                "solar cell efficiency",
                "drip irrigation",
                "wind turbine blade monitoring",
                "precious metal recovery",
            ]),
        },
        QueryKind {
            name: "text zh",
            params: texts(&["锂离子电池", "太阳能电池", "滴灌", "储能", "光纤传感"]),
        },
        QueryKind {
            name: "text fr",
            params: texts(&[
                "batterie lithium",
                "énergie solaire",
                "irrigation goutte-à-goutte",
                "éoliennes",
            ]),
        },
        QueryKind {
            name: "class (hierarchy / mapping)",
            params: [
                "ipc:H01M",
                "ipc:A01G 25",
                "gbt4754:C38",
                "wipo35:1",
                "nace2:27",
            ]
            .iter()
            .map(|c| p(|s| s.class = Some(c.to_string())))
            .collect(),
        },
        QueryKind {
            name: "min TRL + type",
            params: vec![
                p(|s| {
                    s.min_trl = Some("trl-eu:7".into());
                    s.entry_type = Some("offer".into())
                }),
                p(|s| s.min_trl = Some("trl-eu:5".into())),
            ],
        },
        QueryKind {
            name: "country",
            params: ["CN", "KE", "KZ,EG"]
                .iter()
                .map(|c| p(|s| s.country = Some(c.to_string())))
                .collect(),
        },
        QueryKind {
            name: "text + class + country",
            params: vec![
                p(|s| {
                    s.q = Some("battery".into());
                    s.class = Some("ipc:H01M".into());
                    s.country = Some("CN".into())
                }),
                p(|s| {
                    s.q = Some("监测".into());
                    s.class = Some("ipc:B61L".into())
                }),
            ],
        },
        QueryKind {
            name: "paging (page 6, newest; text page 3)",
            params: vec![
                p(|s| {
                    s.offset = Some(100);
                    s.limit = Some(20)
                }),
                p(|s| {
                    s.q = Some("monitoring".into());
                    s.offset = Some(40);
                    s.limit = Some(20)
                }),
            ],
        },
    ]
}

/// Queries only for the answer dump: every filter, sort and paging path of `search`.
fn extra_queries() -> Vec<SearchParams> {
    let mut out = vec![
        p(|s| s.sort = Some("title".into())),
        p(|s| s.sort = Some("valid_until".into())),
        p(|s| {
            s.sort = Some("newest".into());
            s.q = Some("battery".into())
        }),
        p(|s| s.valid = Some(false)),
        p(|s| {
            s.valid = Some(false);
            s.q = Some("solar".into());
            s.offset = Some(3);
            s.limit = Some(7)
        }),
        p(|s| s.target = Some("KE".into())),
        p(|s| s.target = Some("CN,FR".into())),
        p(|s| s.scope = Some("national".into())),
        p(|s| s.scope = Some("international".into())),
        p(|s| s.mode = Some("licence".into())),
        p(|s| s.mode = Some("joint_implementation,technical_service".into())),
        p(|s| s.entry_type = Some("request".into())),
        p(|s| s.min_trl = Some("cn-stage:3".into())),
        p(|s| s.min_trl = Some("trl-nasa:4".into())),
        p(|s| {
            s.class = Some("nace2:27.2,ipc:A01G".into());
            s.q = Some("irrigation".into())
        }),
        p(|s| s.class = Some("isic4:2720".into())),
        p(|s| s.class = Some("wipo35:3,cn-techfield:新能源与高效节能".into())),
        p(|s| {
            s.q = Some("太阳能 solar".into());
            s.country = Some("CN,KE".into());
            s.min_trl = Some("trl-eu:6".into());
            s.limit = Some(50)
        }),
        p(|s| {
            s.offset = Some(1_000_000);
        }),
        p(|s| s.q = Some("zzzznothing".into())),
    ];
    for e in ["cacic-2027-matchmaking", "hbtx-kz-2027-online", "none"] {
        out.push(p(|s| s.event = Some(e.into())));
    }
    out
}

/// CPU time this thread has run, from the scheduler (`/proc/thread-self/schedstat`;
/// updated at scheduler ticks, so only sums over many queries are meaningful).
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

fn pct(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    pin_to_one_core();
    let n = env_usize("TECHMESH_BENCH_SEARCH_ENTRIES", 200_000).max(1);
    let rounds = env_usize("TECHMESH_BENCH_SEARCH_ROUNDS", 20).max(1);
    let templates = templates();
    let kps: Vec<Keypair> = (0..5u8)
        .map(|i| Keypair::from_seed(&[40 + i; 32]))
        .collect();

    // Mapping sets, signed by the node itself, in a scratch store.
    let tmp = tempfile::Builder::new()
        .prefix("techmesh-bench-search-")
        .tempdir_in(bench_dir())
        .expect("temp dir");
    let own = Keypair::from_seed(&[7u8; 32]);
    let store = SledStore::open(&tmp.path().join("store"), 16).expect("open store");
    let sets: Vec<Record> = MAPPING_SETS
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let v: Value = serde_json::from_str(s).expect("mapping set");
            let b = body::prepare(Kind::MappingSet, &v).expect("mapping set body");
            own.sign(i as u64 + 1, Timestamp(1_790_000_000), b)
                .expect("sign")
        })
        .collect();
    store.apply(&sets).expect("store mapping sets");
    let mappings = Mappings::load(&store, &TrustList::default(), own.public()).expect("mappings");

    println!(
        "== search: {n} entries from {} templates, {rounds} passes over the query mix",
        templates.len()
    );
    let rss_before = status_kib("VmRSS");
    let index = Arc::new(SearchIndex::new());
    let mut build = Duration::ZERO;
    let mut sign = Duration::ZERO;
    let mut raw = 0u64;
    let mut done = 0;
    while done < n {
        let size = BUILD_CHUNK.min(n - done);
        let t = Instant::now();
        let chunk: Vec<Record> = (done..done + size)
            .map(|i| sign_entry(&kps, &templates, i))
            .collect();
        sign += t.elapsed();
        raw += chunk.iter().map(|r| r.bytes().len() as u64).sum::<u64>();
        let t = Instant::now();
        for r in &chunk {
            index.apply(r);
        }
        build += t.elapsed();
        done += size;
    }
    let rss_after = status_kib("VmRSS");
    let peak = status_kib("VmHWM");
    let (docs, terms) = {
        let inner = index.read();
        (inner.len(), inner.term_count())
    };
    assert_eq!(docs, n, "every entry indexed");

    let mix = query_mix();
    if let Ok(path) = std::env::var("TECHMESH_BENCH_SEARCH_DUMP") {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("dump file"));
        let inner = index.read();
        let all = mix
            .iter()
            .flat_map(|k| k.params.iter().cloned())
            .chain(extra_queries());
        for params in all {
            let out =
                query::search(&inner, &mappings, &params).unwrap_or_else(|e| json!({ "error": e }));
            writeln!(f, "{}", json!({"params": params, "answer": out})).expect("dump");
        }
        println!("answers written to {path}");
    }
    let mut per_kind: Vec<Vec<Duration>> = vec![Vec::new(); mix.len()];
    let mut totals: Vec<u64> = vec![0; mix.len()];
    let mut cpu: Vec<Duration> = vec![Duration::ZERO; mix.len()];
    for _ in 0..rounds {
        for (k, kind) in mix.iter().enumerate() {
            for params in &kind.params {
                let inner = index.read();
                let c = thread_cpu();
                let t = Instant::now();
                let out = query::search(&inner, &mappings, params).expect("search");
                per_kind[k].push(t.elapsed());
                cpu[k] += thread_cpu().saturating_sub(c);
                totals[k] = totals[k].max(out["total"].as_u64().unwrap_or(0));
            }
        }
    }

    println!();
    println!("| index build | value |");
    println!("|---|---:|");
    println!(
        "| entries / distinct terms | {docs} / {terms} (records {:.1} MiB) |",
        raw as f64 / 1048576.0
    );
    println!(
        "| build time (SearchIndex::apply of every record) | {:.2} s ({:.0} entries/s) |",
        build.as_secs_f64(),
        n as f64 / build.as_secs_f64()
    );
    println!(
        "| signing the entries (not part of the build) | {:.1} s |",
        sign.as_secs_f64()
    );
    println!(
        "| RSS growth over the build | {:.0} MiB ({:.0} B/entry) |",
        (rss_after.saturating_sub(rss_before)) as f64 / 1024.0,
        rss_after.saturating_sub(rss_before) as f64 * 1024.0 / n as f64
    );
    println!("| peak RSS (VmHWM) | {:.0} MiB |", peak as f64 / 1024.0);
    println!();
    println!("| query kind | queries | max hits | p50 ms | p99 ms | CPU ms/query (mean) |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut all: Vec<Duration> = Vec::new();
    for (k, kind) in mix.iter().enumerate() {
        let mut d = per_kind[k].clone();
        d.sort();
        println!(
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} |",
            kind.name,
            d.len(),
            totals[k],
            pct(&d, 0.5),
            pct(&d, 0.99),
            cpu[k].as_secs_f64() * 1000.0 / d.len().max(1) as f64
        );
        all.extend(d);
    }
    all.sort();
    let p99 = pct(&all, 0.99);
    let cpu_all: Duration = cpu.iter().sum();
    println!(
        "| **all** | {} | | {:.2} | {:.2} | {:.2} |",
        all.len(),
        pct(&all, 0.5),
        p99,
        cpu_all.as_secs_f64() * 1000.0 / all.len().max(1) as f64
    );
    println!();
    println!(
        "RATIO search p99 ÷ 5 ms = {:.2} ({:.2} ms at {n} entries; target ≤ 1.00: {})",
        p99 / 5.0,
        p99,
        pass(p99 <= 5.0)
    );
}
