//! Translation latency with 50,000 mappings loaded, and incremental indexing.
//!
//! `CARGO_TARGET_DIR=/work/t5-target cargo bench -p techmesh-protocol --bench translate`
//!
//! Synthetic but realistically shaped crosswalks (codes are well-formed codes of their
//! schemes): CPC → IPC exact (subgroups), IPC → WIPO 35 fields broad (subclasses and
//! main groups), NACE → ISIC, GB/T 4754 → NACE, EEN → IPC and GB/T 13745 → IPC related.
//! Queries are what matchmaking asks: an entry's code into another scheme, forwards
//! (many through the code hierarchy or two-step chains) and backwards; "hub" queries
//! (a WIPO field or ISIC class back to everything under it) are measured separately
//! because their answer alone is hundreds of codes.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use techmesh_protocol::body::mapping::{
    Justification, Mapping, MappingSet, Predicate, MAX_MAPPINGS,
};
use techmesh_protocol::codes::Scheme::{self, *};
use techmesh_protocol::translate::{Recognition, TranslateOptions, Translator};
use techmesh_protocol::{Keypair, PublicKey, RecordHash};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

const SECTIONS: &[u8] = b"ABCDEFGH";

fn ipc_subclass(r: &mut Rng) -> String {
    let s = char::from(*r.pick(SECTIONS));
    let class = 1 + r.below(99);
    let sub = char::from(b'A' + r.below(26) as u8);
    format!("{s}{class:02}{sub}")
}

fn ipc_main_group(r: &mut Rng) -> String {
    format!("{} {}", ipc_subclass(r), 1 + r.below(99))
}

fn ipc_subgroup(r: &mut Rng) -> String {
    let digits = 2 + r.below(3) as usize;
    let sub = r.below(10u64.pow(digits as u32));
    format!("{}/{sub:0digits$}", ipc_main_group(r))
}

fn nace_class(r: &mut Rng) -> String {
    format!("{:02}.{}{}", 1 + r.below(99), 1 + r.below(9), r.below(10))
}

fn isic_of(nace: &str) -> String {
    nace.replace('.', "")
}

fn gbt4754(r: &mut Rng) -> String {
    let s = char::from(b'A' + r.below(20) as u8);
    format!("{s}{:02}{}{}", 1 + r.below(99), r.below(10), r.below(10))
}

fn een(r: &mut Rng) -> String {
    format!(
        "{:02}{:03}{:03}",
        1 + r.below(9),
        1 + r.below(20),
        1 + r.below(20)
    )
}

fn gbt13745(r: &mut Rng) -> String {
    format!("{}{:02}", 110 + r.below(800), 10 + r.below(80))
}

type Row = (String, Predicate, String, f64);

fn rows(n: usize, r: &mut Rng, mut make: impl FnMut(&mut Rng) -> Row) -> Vec<Row> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let row = make(r);
        if seen.insert((row.0.clone(), row.2.clone())) {
            out.push(row);
        }
    }
    out
}

fn sets_of(prefix: &str, s: Scheme, o: Scheme, rows: Vec<Row>) -> Vec<MappingSet> {
    rows.chunks(MAX_MAPPINGS)
        .enumerate()
        .map(|(i, chunk)| MappingSet {
            local_id: format!("{prefix}.part{}", i + 1),
            title: [("en".to_owned(), prefix.to_owned())].into(),
            subject_scheme: s.as_str().into(),
            object_scheme: o.as_str().into(),
            license: Some("CC-BY-4.0".into()),
            mappings: chunk
                .iter()
                .map(|(a, p, b, c)| Mapping {
                    subject: a.clone(),
                    predicate: *p,
                    object: b.clone(),
                    confidence: Some(*c),
                    justification: Some(Justification::Manual),
                    negated: false,
                })
                .collect(),
        })
        .collect()
}

struct Corpus {
    sets: Vec<MappingSet>,
    cpc: Vec<String>,
    ipc_groups: Vec<String>,
    gbt: Vec<String>,
    nace: Vec<String>,
    een: Vec<String>,
}

fn corpus(r: &mut Rng) -> Corpus {
    let confidence = |r: &mut Rng| [1.0, 0.95, 0.9, 0.8][r.below(4) as usize];
    let cpc_rows = rows(20_000, r, |r| {
        let c = ipc_subgroup(r);
        (c.clone(), Predicate::Exact, c, 1.0)
    });
    let wipo_rows = rows(10_000, r, |r| {
        let c = if r.below(2) == 0 {
            ipc_subclass(r)
        } else {
            ipc_main_group(r)
        };
        (c, Predicate::Broad, (1 + r.below(35)).to_string(), 1.0)
    });
    let nace_rows = rows(8_000, r, |r| {
        let n = nace_class(r);
        let p = if r.below(4) == 0 {
            Predicate::Broad
        } else {
            Predicate::Exact
        };
        let i = isic_of(&n);
        (n, p, i, 1.0)
    });
    let nace_codes: Vec<String> = nace_rows.iter().map(|x| x.0.clone()).collect();
    let gbt_rows = rows(8_000, r, |r| {
        let p = if r.below(5) == 0 {
            Predicate::Close
        } else {
            Predicate::Broad
        };
        (gbt4754(r), p, r.pick(&nace_codes).clone(), confidence(r))
    });
    let een_rows = rows(2_000, r, |r| {
        (een(r), Predicate::Related, ipc_subclass(r), 0.7)
    });
    let gbt13745_rows = rows(2_000, r, |r| {
        (gbt13745(r), Predicate::Related, ipc_subclass(r), 0.6)
    });
    let c = Corpus {
        cpc: cpc_rows.iter().map(|x| x.0.clone()).collect(),
        ipc_groups: wipo_rows.iter().map(|x| x.0.clone()).collect(),
        gbt: gbt_rows.iter().map(|x| x.0.clone()).collect(),
        nace: nace_codes,
        een: een_rows.iter().map(|x| x.0.clone()).collect(),
        sets: Vec::new(),
    };
    let mut sets = Vec::new();
    sets.extend(sets_of("cpc-ipc", Cpc, Ipc, cpc_rows));
    sets.extend(sets_of("ipc-wipo35", Ipc, Wipo35, wipo_rows));
    sets.extend(sets_of("nace2-isic4", Nace2, Isic4, nace_rows));
    sets.extend(sets_of("gbt4754-nace2", Gbt4754, Nace2, gbt_rows));
    sets.extend(sets_of("een-ipc", EenTech, Ipc, een_rows));
    sets.extend(sets_of("gbt13745-ipc", Gbt13745, Ipc, gbt13745_rows));
    Corpus { sets, ..c }
}

fn recognition(key: PublicKey) -> Recognition {
    let pairs: BTreeSet<(Scheme, Scheme)> = [
        (Cpc, Ipc),
        (Ipc, Wipo35),
        (Nace2, Isic4),
        (Gbt4754, Nace2),
        (EenTech, Ipc),
        (Gbt13745, Ipc),
    ]
    .into();
    let mut r = Recognition::default();
    r.push("bench authority", vec![key], pairs);
    r
}

fn build(key: PublicKey, sets: &[MappingSet]) -> Translator {
    let mut t = Translator::new(recognition(key));
    for (i, s) in sets.iter().enumerate() {
        t.add_set(key, RecordHash::of(&(i as u64).to_le_bytes()), s)
            .expect("bench sets are valid");
    }
    t
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn measure(
    name: &str,
    t: &Translator,
    queries: &[(Scheme, String, Scheme)],
    opts: &TranslateOptions,
) -> f64 {
    let mut times = Vec::with_capacity(queries.len());
    let mut results = 0usize;
    // Warm up once over the set.
    for (s, c, target) in queries {
        results += t.translate(*s, c, *target, opts).len();
    }
    for (s, c, target) in queries {
        let start = Instant::now();
        let r = t.translate(*s, c, *target, opts);
        times.push(start.elapsed());
        std::hint::black_box(&r);
    }
    times.sort();
    let p99 = percentile(&times, 0.99);
    println!(
        "{name:<44} n={:>5}  p50 {:>7.2} µs  p90 {:>7.2} µs  p99 {:>7.2} µs  max {:>8.2} µs  (avg results {:.1})",
        queries.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        p99,
        percentile(&times, 1.0),
        results as f64 / queries.len() as f64
    );
    p99
}

fn main() {
    let mut r = Rng(0x5eed_cafe_f00d_0001);
    let key = Keypair::from_seed(&[7; 32]).public();
    let c = corpus(&mut r);
    let total: usize = c.sets.iter().map(|s| s.mappings.len()).sum();
    println!(
        "corpus: {total} mappings in {} sets (≤ {MAX_MAPPINGS} mappings each)",
        c.sets.len()
    );

    let start = Instant::now();
    let t = build(key, &c.sets);
    let full_build = start.elapsed();
    println!(
        "full build of the index (all {total} mappings): {:.1} ms",
        full_build.as_secs_f64() * 1e3
    );

    // 10,000 matchmaking queries: an entry's code into the scheme a request uses.
    let mut queries: Vec<(Scheme, String, Scheme)> = Vec::with_capacity(10_000);
    while queries.len() < 10_000 {
        let q = match r.below(8) {
            // An IPC subgroup under a mapped subclass or main group → WIPO field, through
            // the code hierarchy.
            0 => {
                let mapped = r.pick(&c.ipc_groups).clone();
                let sub = r.below(100);
                let code = if mapped.contains(' ') {
                    format!("{mapped}/{sub:02}")
                } else {
                    format!("{mapped} {}/{sub:02}", 1 + r.below(99))
                };
                (Ipc, code, Wipo35)
            }
            // CPC subgroup → WIPO field: exact step to IPC, then the hierarchy (when a
            // broader IPC code of it is mapped).
            1 => (Cpc, r.pick(&c.cpc).clone(), Wipo35),
            2 => (Gbt4754, r.pick(&c.gbt).clone(), Isic4),
            3 => (Gbt4754, r.pick(&c.gbt).clone(), Nace2),
            4 => (Nace2, r.pick(&c.nace).clone(), Gbt4754),
            5 => (Isic4, isic_of(r.pick::<String>(&c.nace)), Gbt4754),
            // related then broad: searched, concludes nothing.
            6 => (EenTech, r.pick(&c.een).clone(), Wipo35),
            _ => (Cpc, r.pick(&c.cpc).clone(), Ipc),
        };
        if techmesh_protocol::codes::normalise(q.0, &q.1).is_ok() {
            queries.push(q);
        }
    }
    let opts = TranslateOptions::default();
    let p99 = measure("matchmaking queries (depth 3)", &t, &queries, &opts);

    let hubs: Vec<(Scheme, String, Scheme)> = (0..1_000)
        .map(|_| {
            if r.below(2) == 0 {
                (Wipo35, (1 + r.below(35)).to_string(), Ipc)
            } else {
                (Isic4, isic_of(r.pick::<String>(&c.nace)), Gbt4754)
            }
        })
        .collect();
    measure(
        "hub queries: wipo35 field → ipc, isic4 → gbt",
        &t,
        &hubs,
        &opts,
    );

    // Incremental: one more authority set of 1,000 mappings into the 50k index.
    let extra_rows = rows(1_000, &mut r, |r| {
        (
            ipc_subgroup(r),
            Predicate::Broad,
            (1 + r.below(35)).to_string(),
            0.9,
        )
    });
    let extra = sets_of("ipc-wipo35-update", Ipc, Wipo35, extra_rows).remove(0);
    let mut t = t;
    let start = Instant::now();
    t.add_set(key, RecordHash::of(b"extra"), &extra)
        .expect("valid");
    let incremental = start.elapsed();
    let start = Instant::now();
    let mut all = c.sets.clone();
    all.push(extra.clone());
    let rebuilt = build(key, &all);
    let rebuild = start.elapsed();
    std::hint::black_box(&rebuilt);
    let remove_id = techmesh_protocol::Identity {
        publisher: key,
        kind: techmesh_protocol::Kind::MappingSet,
        local_id: extra.local_id.clone(),
    };
    let start = Instant::now();
    t.remove_set(&remove_id);
    let removal = start.elapsed();
    println!(
        "add one set of 1,000 mappings incrementally: {:.2} ms; rebuild all {} mappings: {:.1} ms ({:.0}× slower); remove that set: {:.2} ms",
        incremental.as_secs_f64() * 1e3,
        total + 1_000,
        rebuild.as_secs_f64() * 1e3,
        rebuild.as_secs_f64() / incremental.as_secs_f64(),
        removal.as_secs_f64() * 1e3
    );
    println!(
        "target: matchmaking p99 ≤ 100 µs: {}",
        if p99 <= 100.0 { "met" } else { "NOT met" }
    );
}
