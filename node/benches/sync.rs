//! Sync benchmark (issue "federation", item 10, second bullet): two stores of
//! 100,000 records that differ by d = 1, 100, 10,000 records; one full anti-entropy
//! session driven exactly as `node/src/sync/session.rs` (initiator) and
//! `node/src/sync/server.rs` (responder) do it: root → reconcile rounds → fetch /
//! push, with the real `techmesh_protocol::sync::{start, process}` and each real
//! `SyncRequest` / `SyncResponse` CBOR-encoded with `cbor4ii` (the codec of libp2p's
//! request-response `cbor`) to count the bytes on the wire.
//!
//! The items and record bytes are read from two real `SledStore`s. The sessions run
//! on in-memory copies of those item sets (the same items, the same order, the same
//! record bytes; each side takes in what it receives during the session, as the
//! node's store does), and one session (d = 10,000, split) runs again between the two
//! real stores through `Ingest` (verify + store) as a cross-check: its figures must
//! be identical, and both stores must end with the same digest.
//!
//! Parameter variants (items threshold, fanout) are measured by a reimplementation of
//! `process`/`start` with other constants; with the current constants it must give
//! exactly the protocol's figures (checked).
//!
//! `cargo bench -p techmesh-node --bench sync` (or `scripts/bench.sh sync`).
//! Environment: `TECHMESH_BENCH_SYNC_RECORDS` (records per store, default 100000),
//! `TECHMESH_BENCH_DIR`, `TECHMESH_BENCH_NO_PIN=1`.

mod common;
use common::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use serde_bytes::ByteBuf;

use techmesh_node::ingest::{now, Ingest};
use techmesh_node::store::SledStore;
use techmesh_protocol::record::{Keypair, Record, RecordHash};
use techmesh_protocol::sync::{
    self as psync, Fingerprint, Item, Outcome, Range, SyncRequest, SyncResponse, MAX_FETCH,
    MAX_RANGES_PER_MESSAGE,
};
use techmesh_protocol::time::Timestamp;
use techmesh_protocol::trust::{LocalNode, TrustList};
use techmesh_protocol::version::Version;

/// node.toml default `network.max_message_bytes`: the codec refuses larger messages.
const MAX_MESSAGE_BYTES: usize = 262_144;
/// `SyncConfig::message_budget` as `run.rs` sets it.
const MESSAGE_BUDGET: usize = MAX_MESSAGE_BYTES * 3 / 4;
/// Session bound of session.rs.
const MAX_ROUNDS: u32 = 64;
const CACHE_MB: u64 = 64;
const KIB: f64 = 1024.0;

/// Reconciliation constants (the protocol's, or a variant's).
#[derive(Clone, Copy, Debug)]
struct Params {
    name: &'static str,
    /// Bits of digest per path element: fanout = 2^bits (the protocol: 4 → 16).
    bits: u8,
    items_threshold: usize,
    /// A side holding more than this under a range it got items for splits instead.
    items_answer_limit: usize,
    /// Ranges per Reconcile request (session.rs drains its queue by this many).
    max_ranges: usize,
    /// Hashes per Fetch request.
    max_fetch: usize,
    /// Budget of records inline in a Reconcile response, and of the estimated size of
    /// its ranges and hashes (server.rs: budget / 2 each).
    answer_budget: usize,
    /// Budget of records in a Records response or a Push request.
    message_budget: usize,
    /// Variant only: bound each Reconcile request by the protocol's size estimate
    /// (this many bytes) as well as by `max_ranges`.
    request_budget: Option<usize>,
}

const CURRENT: Params = Params {
    name: "current",
    bits: 4,
    items_threshold: psync::ITEMS_THRESHOLD,
    items_answer_limit: psync::ITEMS_ANSWER_LIMIT,
    max_ranges: MAX_RANGES_PER_MESSAGE,
    max_fetch: MAX_FETCH,
    answer_budget: MESSAGE_BUDGET / 2,
    message_budget: MESSAGE_BUDGET,
    request_budget: None,
};

impl Params {
    fn fanout(&self) -> usize {
        1 << self.bits
    }
    fn max_path(&self) -> usize {
        128 / self.bits as usize
    }
    fn is_protocol(&self) -> bool {
        self.bits == 4
            && self.items_threshold == psync::ITEMS_THRESHOLD
            && self.items_answer_limit == psync::ITEMS_ANSWER_LIMIT
    }
}

fn main() {
    pin_to_one_core();
    let n = env_usize("TECHMESH_BENCH_SYNC_RECORDS", 100_000).max(20_000);
    let max_d = 10_000.min(n / 10);
    let ds: Vec<usize> = [1, 100, 10_000].into_iter().map(|d| d.min(max_d)).collect();
    println!("== sync: two stores of {n} records differing by d = {ds:?}");
    println!(
        "message bound {MAX_MESSAGE_BYTES} B, record budget {MESSAGE_BUDGET} B per message, {} B inline per reconcile answer",
        MESSAGE_BUDGET / 2
    );

    // The record pool: P[0..n + max_d/2]. Store A holds P[0..n]; store B holds
    // P[0..n - max_d/2] and P[n..n + max_d/2] (the d = max_d split case).
    let t = Instant::now();
    let kp = Keypair::from_seed(&[23u8; 32]);
    let issued_at = Timestamp(now().0 - 3600);
    let total = n + max_d / 2;
    let pool: Vec<Record> = (0..total as u64)
        .map(|i| kp.sign(i + 1, issued_at, entry_body(i)).expect("sign"))
        .collect();
    eprintln!(
        "  signed {total} records in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let dir = bench_dir();
    let tmp = tempfile::Builder::new()
        .prefix("techmesh-bench-sync-")
        .tempdir_in(&dir)
        .expect("temp dir");
    let t = Instant::now();
    let store_a = open_ingest(&tmp.path().join("a"), &kp);
    let store_b = open_ingest(&tmp.path().join("b"), &kp);
    for chunk in pool[..n].chunks(1000) {
        store_a.store.apply(chunk).expect("apply a");
    }
    let b_records: Vec<Record> = pool[..n - max_d / 2]
        .iter()
        .chain(&pool[n..])
        .cloned()
        .collect();
    for chunk in b_records.chunks(1000) {
        store_b.store.apply(chunk).expect("apply b");
    }
    drop(b_records);
    eprintln!(
        "  filled two sled stores in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Items and bytes as the stores hold them.
    let mut catalog = HashMap::new();
    for ingest in [&store_a, &store_b] {
        for row in ingest.store.sync_items(&[]).expect("sync items") {
            let rec = ingest
                .store
                .get_by_hash(&row.hash)
                .expect("get")
                .expect("record bytes");
            catalog.insert(
                row.hash.0,
                (
                    Item {
                        id: row.id_digest,
                        seq: row.seq,
                        hash: row.hash.0,
                    },
                    rec.bytes().into(),
                ),
            );
        }
    }
    assert_eq!(catalog.len(), total, "every pool record is in a store");
    let catalog = Arc::new(catalog);
    let hash_of: Vec<[u8; 32]> = pool.iter().map(|r| r.hash().0).collect();
    drop(pool);
    let side_of = |range: &mut dyn Iterator<Item = usize>| {
        MemSide::new(catalog.clone(), range.map(|i| hash_of[i]))
    };

    // The configurations: (label, initiator, responder).
    let mut configs: Vec<(usize, &'static str, MemSide, MemSide)> = Vec::new();
    for &d in &ds {
        let h = d / 2;
        let split_a = side_of(&mut (0..n));
        let split_b = side_of(&mut (0..n - h).chain(n..n + (d - h)));
        let full = side_of(&mut (0..n));
        let short = side_of(&mut (0..n - d));
        configs.push((d, "split: d/2 on each side", split_a, split_b));
        configs.push((d, "initiator has all d", full.clone(), short.clone()));
        configs.push((d, "responder has all d", short, full));
    }

    // Reimplementation check: with the current constants it must equal the protocol.
    for (d, label, a, b) in &configs {
        let real = session(&mut a.clone(), &mut b.clone(), &CURRENT);
        let re = session_with(&mut a.clone(), &mut b.clone(), &CURRENT, false);
        assert_eq!(
            real.summary(),
            re.summary(),
            "d = {d} {label}: the bench's reimplementation of process() differs from the protocol's"
        );
    }
    println!("reimplementation of process()/start() checked against the protocol on every configuration: identical");

    // The current parameters, every configuration.
    println!();
    println!(
        "### current parameters: fanout {}, items threshold {}, items answer limit {}, {} ranges per request, {} hashes per fetch, {} B inline + {} B of ranges per answer, {} B of records per message",
        psync::FANOUT,
        CURRENT.items_threshold,
        CURRENT.items_answer_limit,
        CURRENT.max_ranges,
        CURRENT.max_fetch,
        CURRENT.answer_budget,
        CURRENT.answer_budget,
        CURRENT.message_budget
    );
    println!();
    print_header();
    let mut results = Vec::new();
    for (d, label, a, b) in &configs {
        let (mut a, mut b) = (a.clone(), b.clone());
        let missing = missing_bytes(&a, &b);
        let t = Instant::now();
        let s = session(&mut a, &mut b, &CURRENT);
        let secs = t.elapsed().as_secs_f64();
        assert!(
            a.items == b.items,
            "d = {d} {label}: the stores did not converge"
        );
        print_row(*d, label, &s, missing);
        results.push((*d, *label, s, missing, secs));
    }
    let s0 = &results[0].2;
    println!();
    println!(
        "Watermark request (once per session, not counted above): {} B sent + {} B received, 1 round trip",
        s0.watermark_sent, s0.watermark_received
    );
    println!();
    println!("where the bytes go (current parameters):");
    for (d, label, s, missing, secs) in &results {
        println!(
            "  d = {d:>5} {label:<25}: ranges {:.1} KiB ({} Fp + {} Items ranges, {} items; {} ranges sent twice), records {:.1} KiB, hash lists {:.1} KiB, CBOR envelopes {:.1} KiB; largest request {:.1} KiB, largest response {:.1} KiB; {:.2} s of reconciliation CPU; with ranges as positional CBOR arrays: wire ÷ missing {:.2}",
            s.ranges_bytes as f64 / KIB,
            s.fp_ranges,
            s.items_ranges,
            s.items_sent,
            s.requeued,
            s.record_bytes as f64 / KIB,
            s.hash_list_bytes as f64 / KIB,
            s.envelope_bytes() as f64 / KIB,
            s.max_request as f64 / KIB,
            s.max_response as f64 / KIB,
            secs,
            s.compact_total() as f64 / *missing as f64
        );
    }

    if std::env::var_os("TECHMESH_BENCH_SYNC_SWEEP").is_some() {
        sweep(&configs);
    }

    // Variants: other constants, same loop (bench copy of process_bounded/start).
    let variants = variants();
    println!();
    println!("### variants (same session loop; bench copy of the protocol's process_bounded/start with other constants)");
    println!();
    print_header();
    let mut compact_lines = Vec::new();
    for p in &variants {
        println!("| **{}** | | | | | | | | | |", p.name);
        for (d, label, a, b) in &configs {
            let (mut a, mut b) = (a.clone(), b.clone());
            let missing = missing_bytes(&a, &b);
            let s = session_with(&mut a, &mut b, p, false);
            assert!(a.items == b.items, "{}: d = {d}: no convergence", p.name);
            print_row(*d, label, &s, missing);
            compact_lines.push(format!(
                "  {} | d = {d} {label}: wire ÷ missing {:.2} → {:.2} with positional arrays",
                &p.name[..1],
                (s.bytes_sent + s.bytes_received) as f64 / missing as f64,
                s.compact_total() as f64 / missing as f64
            ));
        }
    }
    println!();
    println!("the same variants if Range/Fingerprint/Item were CBOR arrays instead of maps with field names:");
    for l in compact_lines {
        println!("{l}");
    }

    // Cross-check on the real stores: d = max_d split, through Ingest (verify + store).
    println!();
    let (_, label, a, b) = configs
        .iter()
        .find(|c| c.0 == max_d && c.1.starts_with("split"))
        .expect("split config");
    let mem = session(&mut a.clone(), &mut b.clone(), &CURRENT);
    let t = Instant::now();
    let mut sa = SledSide { ingest: store_a };
    let mut sb = SledSide { ingest: store_b };
    let real = session(&mut sa, &mut sb, &CURRENT);
    let secs = t.elapsed().as_secs_f64();
    let same_digest =
        sa.ingest.store.digest().expect("digest") == sb.ingest.store.digest().expect("digest");
    println!(
        "real sled stores, d = {max_d} {label}: {} round trips, {} B sent, {} B received, {} records taken in, {:.2} s wall on one core (items from sled, verify + store of every record taken in); identical to the in-memory run: {}; stores converged (equal digests): {}",
        real.round_trips(),
        real.bytes_sent,
        real.bytes_received,
        real.taken,
        secs,
        if real.summary() == mem.summary() { "yes" } else { "NO" },
        if same_digest { "yes" } else { "NO" }
    );
    assert!(same_digest, "the real stores did not converge");

    println!();
    for (d, label, s, missing, _) in &results {
        let total = s.bytes_sent + s.bytes_received;
        println!(
            "RATIO d={d} [{label}] wire ÷ missing = {:.2}, overhead {:.1} KiB, round trips {}{}",
            total as f64 / *missing as f64,
            (total as f64 - *missing as f64) / KIB,
            s.round_trips(),
            s.failed
                .as_ref()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default()
        );
    }
}

/// Exploration: a grid of constants, one line per run.
fn sweep(configs: &[(usize, &'static str, MemSide, MemSide)]) {
    println!();
    println!("sweep: bits threshold max_ranges request_budget | d config | round trips, wire ÷ missing, overhead KiB, fails");
    for bits in [1u8, 2, 4] {
        for t in [1usize, 2, 4, 8, 32] {
            for (max_ranges, request_budget) in
                [(64, None), (1024, None), (4096, Some(MESSAGE_BUDGET / 2))]
            {
                let p = Params {
                    name: "sweep",
                    bits,
                    items_threshold: t,
                    items_answer_limit: 4 * t,
                    max_ranges,
                    request_budget,
                    ..CURRENT
                };
                // The middle d, where constants matter most (d = 1 passes, d = max is
                // bound by record bytes).
                let mid = configs.get(3).map_or(0, |c| c.0);
                for (d, label, a, b) in configs.iter().filter(|c| c.0 == mid) {
                    let (mut a, mut b) = (a.clone(), b.clone());
                    let missing = missing_bytes(&a, &b);
                    let s = session_with(&mut a, &mut b, &p, false);
                    let total = s.bytes_sent + s.bytes_received;
                    println!(
                        "sweep: {bits} {t:>2} {max_ranges:>4} {:>6} | {d:>5} {:<25} | {:>4} {:.2} {:>8.1} {}{}",
                        request_budget.unwrap_or(0),
                        label,
                        s.round_trips(),
                        total as f64 / missing as f64,
                        (total as f64 - missing as f64) / KIB,
                        if s.over_limit > 0 { "OVER-BOUND " } else { "" },
                        if s.failed.is_some() { "MAX-ROUNDS" } else { "" }
                    );
                }
            }
        }
    }
}

fn variants() -> Vec<Params> {
    // Requests bounded like answers: by the protocol's size estimate (half the
    // budget), not by a count of 64 ranges (the server's count bound raised to match).
    let by_bytes = Params {
        max_ranges: 4096,
        request_budget: Some(MESSAGE_BUDGET / 2),
        ..CURRENT
    };
    vec![
        Params {
            name: "A: requests bounded by estimated bytes (≤ 96 KiB) instead of 64 ranges",
            ..by_bytes
        },
        Params {
            name: "B: as A, fanout 4, items threshold 4 (answer limit 16)",
            bits: 2,
            items_threshold: 4,
            items_answer_limit: 16,
            ..by_bytes
        },
        Params {
            name: "C: 1024 ranges per request (count bound only)",
            max_ranges: 1024,
            ..CURRENT
        },
    ]
}

fn print_header() {
    println!("| d | configuration | round trips (reconcile + fetch + push) | wire bytes (sent + received) | missing record bytes | wire ÷ missing | overhead = wire − missing | bytes ≤ 1.5× missing + 8 KiB | round trips ≤ 4 | would the real session fail? |");
    println!("|---:|---|---|---:|---:|---:|---:|---|---|---|");
}

fn print_row(d: usize, label: &str, s: &Stats, missing: u64) {
    let total = s.bytes_sent + s.bytes_received;
    let limit = 1.5 * missing as f64 + 8192.0;
    let bytes_ok = (total as f64) <= limit;
    let mut fails = Vec::new();
    if s.over_limit > 0 {
        fails.push(format!(
            "{} messages over the {MAX_MESSAGE_BYTES} B bound",
            s.over_limit
        ));
    }
    if let Some(f) = &s.failed {
        fails.push(f.clone());
    }
    println!(
        "| {d} | {label} | {} ({} + {} + {}) | {:.1} KiB ({:.1} + {:.1}) | {:.1} KiB | {:.2} | {:.1} KiB | {} | {} | {} |",
        s.round_trips(),
        s.reconcile_rounds,
        s.fetches,
        s.pushes,
        total as f64 / KIB,
        s.bytes_sent as f64 / KIB,
        s.bytes_received as f64 / KIB,
        missing as f64 / KIB,
        total as f64 / missing.max(1) as f64,
        (total as f64 - missing as f64) / KIB,
        if bytes_ok {
            "PASS".to_string()
        } else {
            format!("MISS (limit {:.1} KiB)", limit / KIB)
        },
        if s.round_trips() <= 4 { "PASS" } else { "MISS" },
        if fails.is_empty() {
            "—".to_string()
        } else {
            format!("**{}**", fails.join("; "))
        }
    );
}

/// Bytes of the records each side lacks (what a perfect protocol would send).
fn missing_bytes(a: &MemSide, b: &MemSide) -> u64 {
    let ha: HashSet<[u8; 32]> = a.items.values().map(|i| i.hash).collect();
    let hb: HashSet<[u8; 32]> = b.items.values().map(|i| i.hash).collect();
    ha.symmetric_difference(&hb)
        .map(|h| a.catalog[h].1.len() as u64)
        .sum()
}

// ---------------------------------------------------------------- the two sides

trait Side {
    /// My items whose identity digest starts with these bytes, sorted by id.
    fn items_with_prefix(&self, prefix: &[u8]) -> Vec<Item>;
    /// Bytes of a record I hold as a current version.
    fn bytes_of(&self, h: &RecordHash) -> Option<Arc<[u8]>>;
    /// Take in records (the ingest path); how many were new.
    fn take(&mut self, records: &[ByteBuf]) -> u32;
}

/// Every record of the pool by hash: its sync item and its bytes (from the stores).
type Catalog = Arc<HashMap<[u8; 32], (Item, Arc<[u8]>)>>;

#[derive(Clone)]
struct MemSide {
    catalog: Catalog,
    items: BTreeMap<[u8; 16], Item>,
    hashes: HashSet<[u8; 32]>,
}

impl MemSide {
    fn new(catalog: Catalog, hashes: impl Iterator<Item = [u8; 32]>) -> MemSide {
        let mut s = MemSide {
            catalog,
            items: BTreeMap::new(),
            hashes: HashSet::new(),
        };
        for h in hashes {
            let item = s.catalog[&h].0;
            s.insert(item);
        }
        s
    }

    /// Keep the winning version (the store's version order).
    fn insert(&mut self, item: Item) -> bool {
        let new = Version {
            seq: item.seq,
            hash: RecordHash(item.hash),
        };
        if let Some(old) = self.items.get(&item.id) {
            let cur = Version {
                seq: old.seq,
                hash: RecordHash(old.hash),
            };
            if !new.supersedes(&cur) {
                return false;
            }
            self.hashes.remove(&old.hash);
        }
        self.items.insert(item.id, item);
        self.hashes.insert(item.hash);
        true
    }
}

impl Side for MemSide {
    fn items_with_prefix(&self, prefix: &[u8]) -> Vec<Item> {
        let mut lo = [0u8; 16];
        let mut hi = [0xffu8; 16];
        lo[..prefix.len()].copy_from_slice(prefix);
        hi[..prefix.len()].copy_from_slice(prefix);
        self.items.range(lo..=hi).map(|(_, i)| *i).collect()
    }

    fn bytes_of(&self, h: &RecordHash) -> Option<Arc<[u8]>> {
        self.hashes
            .contains(&h.0)
            .then(|| self.catalog[&h.0].1.clone())
    }

    fn take(&mut self, records: &[ByteBuf]) -> u32 {
        let mut new = 0;
        for r in records {
            let h = RecordHash::of(r);
            let item = self.catalog.get(&h.0).expect("a known record").0;
            new += u32::from(self.insert(item));
        }
        new
    }
}

/// A side backed by a real store, taking records in through `Ingest` (verify,
/// policy, one atomic flushed apply), as the node does.
struct SledSide {
    ingest: Ingest,
}

impl Side for SledSide {
    fn items_with_prefix(&self, prefix: &[u8]) -> Vec<Item> {
        self.ingest
            .store
            .sync_items(prefix)
            .expect("sync items")
            .into_iter()
            .map(|r| Item {
                id: r.id_digest,
                seq: r.seq,
                hash: r.hash.0,
            })
            .collect()
    }

    fn bytes_of(&self, h: &RecordHash) -> Option<Arc<[u8]>> {
        self.ingest
            .store
            .get_by_hash(h)
            .ok()
            .flatten()
            .map(|r| r.bytes().into())
    }

    fn take(&mut self, records: &[ByteBuf]) -> u32 {
        let refs: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
        self.ingest
            .ingest_bytes(&refs)
            .iter()
            .filter(|r| r.as_ref().is_ok_and(|(_, o)| o.applied.is_new()))
            .count() as u32
    }
}

fn open_ingest(path: &std::path::Path, kp: &Keypair) -> Ingest {
    Ingest {
        store: Arc::new(SledStore::open(path, CACHE_MB).expect("open store")),
        trust: Arc::new(RwLock::new(TrustList::default())),
        local: LocalNode {
            publisher: kp.public(),
            country: "CN".into(),
        },
        max_future_skew_secs: 300,
        observers: Default::default(),
    }
}

// ---------------------------------------------------------------- the session

#[derive(Debug, Default, Clone)]
struct Stats {
    reconcile_rounds: u32,
    fetches: u32,
    pushes: u32,
    bytes_sent: u64,
    bytes_received: u64,
    watermark_sent: u64,
    watermark_received: u64,
    max_request: u64,
    max_response: u64,
    over_limit: u32,
    /// What `ranges_bytes` would be with items, fingerprints and ranges as CBOR
    /// arrays instead of maps with field names (an encoding change, for comparison).
    compact_ranges_bytes: u64,
    /// Ranges the responder left unanswered (over its budget) and the initiator sent again.
    requeued: u64,
    /// Why the real session would have stopped before converging.
    failed: Option<String>,
    ranges_bytes: u64,
    fp_ranges: u64,
    items_ranges: u64,
    items_sent: u64,
    record_bytes: u64,
    hash_list_bytes: u64,
    taken: u64,
}

impl Stats {
    fn round_trips(&self) -> u32 {
        self.reconcile_rounds + self.fetches + self.pushes
    }
    /// Everything that decides the figures (not timings).
    fn summary(&self) -> (u32, u32, u32, u64, u64, u64) {
        (
            self.reconcile_rounds,
            self.fetches,
            self.pushes,
            self.bytes_sent,
            self.bytes_received,
            self.taken,
        )
    }
    fn envelope_bytes(&self) -> u64 {
        (self.bytes_sent + self.bytes_received)
            .saturating_sub(self.ranges_bytes + self.record_bytes + self.hash_list_bytes)
    }

    fn count_ranges(&mut self, ranges: &[Range]) {
        self.ranges_bytes += wire_len(&ranges.to_vec());
        self.compact_ranges_bytes += wire_len(&ranges.iter().map(compact).collect::<Vec<_>>());
        for r in ranges {
            match r {
                Range::Fp { .. } => self.fp_ranges += 1,
                Range::Items { items, .. } => {
                    self.items_ranges += 1;
                    self.items_sent += items.len() as u64;
                }
            }
        }
    }

    fn count_records(&mut self, records: &[ByteBuf]) {
        self.record_bytes += records.iter().map(|r| r.len() as u64).sum::<u64>();
    }

    fn count_hashes(&mut self, hashes: &[ByteBuf]) {
        if !hashes.is_empty() {
            self.hash_list_bytes += wire_len(&hashes.to_vec());
        }
    }

    fn sent(&mut self, req: &SyncRequest) {
        let n = wire_len(req);
        self.bytes_sent += n;
        self.max_request = self.max_request.max(n);
        self.over_limit += u32::from(n as usize > MAX_MESSAGE_BYTES);
        match req {
            SyncRequest::Reconcile { ranges } => self.count_ranges(ranges),
            SyncRequest::Fetch { hashes } => self.count_hashes(hashes),
            SyncRequest::Push { records } => self.count_records(records),
            SyncRequest::Watermark { .. } => {}
        }
    }

    fn received(&mut self, resp: &SyncResponse) {
        let n = wire_len(resp);
        self.bytes_received += n;
        self.max_response = self.max_response.max(n);
        self.over_limit += u32::from(n as usize > MAX_MESSAGE_BYTES);
        match resp {
            SyncResponse::Reconcile {
                ranges,
                records,
                offer,
                need,
                ..
            } => {
                self.count_ranges(ranges);
                self.count_records(records);
                self.count_hashes(offer);
                self.count_hashes(need);
            }
            SyncResponse::Records { records, .. } => self.count_records(records),
            _ => {}
        }
    }
}

fn compact(r: &Range) -> CRange {
    match r {
        Range::Fp { path, fp } => CRange::F(ByteBuf::from(path.clone()), fp.count, fp.xor),
        Range::Items { path, items } => CRange::I(
            ByteBuf::from(path.clone()),
            items.iter().map(|i| CItem(i.id, i.seq, i.hash)).collect(),
        ),
    }
}

/// The same content as `Range`, without field names (positional CBOR arrays).
#[derive(serde::Serialize)]
enum CRange {
    F(ByteBuf, u32, #[serde(with = "serde_bytes")] [u8; 16]),
    I(ByteBuf, Vec<CItem>),
}

#[derive(serde::Serialize)]
struct CItem(
    #[serde(with = "serde_bytes")] [u8; 16],
    u64,
    #[serde(with = "serde_bytes")] [u8; 32],
);

impl Stats {
    /// Wire bytes if ranges were encoded as positional arrays.
    fn compact_total(&self) -> u64 {
        self.bytes_sent + self.bytes_received - self.ranges_bytes + self.compact_ranges_bytes
    }
}

fn wire_len<T: serde::Serialize>(v: &T) -> u64 {
    cbor4ii::serde::to_vec(Vec::new(), v)
        .map(|b| b.len() as u64)
        .unwrap_or(0)
}

fn session(a: &mut dyn Side, b: &mut dyn Side, p: &Params) -> Stats {
    session_with(a, b, p, p.is_protocol())
}

/// One session, initiator `a`, responder `b` (session.rs `reconcile` and server.rs
/// `answer`, step by step). A bound the real session would stop at (MAX_ROUNDS) is
/// noted in `failed`, and the session goes on so its cost can still be measured.
fn session_with(a: &mut dyn Side, b: &mut dyn Side, p: &Params, protocol: bool) -> Stats {
    let mut s = Stats::default();
    // No-self-fork guard: a fixed cost, counted apart.
    let wreq = SyncRequest::Watermark {
        publisher: [7u8; 32],
    };
    let wresp = SyncResponse::Watermark { seq: Some(1) };
    s.watermark_sent = wire_len(&wreq);
    s.watermark_received = wire_len(&wresp);

    let mut queue = start_any(p, protocol, a);
    let (mut to_fetch, mut to_push): (Vec<RecordHash>, Vec<RecordHash>) = (vec![], vec![]);
    while !queue.is_empty() {
        s.reconcile_rounds += 1;
        assert!(s.reconcile_rounds < 100_000, "no convergence at all");
        if s.reconcile_rounds > MAX_ROUNDS && s.failed.is_none() {
            s.failed = Some(format!(
                "session.rs gives up after {MAX_ROUNDS} reconcile rounds"
            ));
        }
        let mut take = queue.len().min(p.max_ranges);
        if let Some(budget) = p.request_budget {
            let mut used = 0;
            take = queue[..take]
                .iter()
                .position(|r| {
                    used += range_bytes(r);
                    used > budget
                })
                .unwrap_or(take)
                .max(1);
        }
        let batch: Vec<Range> = queue.drain(..take).collect();
        let req = SyncRequest::Reconcile { ranges: batch };
        s.sent(&req);
        let SyncRequest::Reconcile { ranges: batch } = req else {
            unreachable!()
        };
        // server.rs: bounded processing (budget / 2), records inline (budget / 2).
        let (out, processed) = process_bounded_any(p, protocol, &batch, b, p.answer_budget);
        let (records, offer) = pack(b, &out.they_lack, p.answer_budget);
        let resp = SyncResponse::Reconcile {
            processed: processed as u32,
            ranges: out.ranges,
            records,
            offer: offer.iter().map(|h| ByteBuf::from(h.0.to_vec())).collect(),
            need: out
                .i_lack
                .iter()
                .map(|h| ByteBuf::from(h.0.to_vec()))
                .collect(),
        };
        s.received(&resp);
        let SyncResponse::Reconcile {
            processed,
            ranges: theirs,
            records,
            offer,
            need,
        } = resp
        else {
            unreachable!()
        };
        // What did not fit in the answer goes first into the next request.
        let processed = (processed as usize).clamp(1, batch.len());
        s.requeued += (batch.len() - processed) as u64;
        queue.splice(0..0, batch[processed..].iter().cloned());
        s.taken += u64::from(a.take(&records));
        to_fetch.extend(hashes(&offer));
        to_push.extend(hashes(&need));
        let out = process_bounded_any(p, protocol, &theirs, a, usize::MAX).0;
        to_fetch.extend(out.i_lack);
        to_push.extend(out.they_lack);
        queue.extend(out.ranges);
    }
    // Fetch what we lack, in bounded batches (session.rs).
    to_fetch.sort();
    to_fetch.dedup();
    let mut queue = to_fetch;
    while !queue.is_empty() {
        let chunk: Vec<RecordHash> = queue.drain(..queue.len().min(p.max_fetch)).collect();
        let req = SyncRequest::Fetch {
            hashes: chunk.iter().map(|h| ByteBuf::from(h.0.to_vec())).collect(),
        };
        s.sent(&req);
        s.fetches += 1;
        // server.rs: pack within the whole message budget.
        let (records, left) = pack(b, &chunk, p.message_budget);
        let resp = SyncResponse::Records {
            records,
            remaining: left.len() as u32,
        };
        s.received(&resp);
        let SyncResponse::Records { records, remaining } = resp else {
            unreachable!()
        };
        let returned: HashSet<RecordHash> = records.iter().map(|r| RecordHash::of(r)).collect();
        s.taken += u64::from(a.take(&records));
        if remaining > 0 && !returned.is_empty() {
            queue.extend(chunk.into_iter().filter(|h| !returned.contains(h)));
        }
    }
    // Push what the peer lacks, in messages within the budget.
    to_push.sort();
    to_push.dedup();
    let mut pending = to_push;
    while !pending.is_empty() {
        let (records, left) = pack(a, &pending, p.message_budget);
        if records.is_empty() {
            break;
        }
        let req = SyncRequest::Push { records };
        s.sent(&req);
        s.pushes += 1;
        let SyncRequest::Push { records } = req else {
            unreachable!()
        };
        let accepted = b.take(&records);
        let resp = SyncResponse::Pushed {
            accepted,
            refused: 0,
        };
        s.received(&resp);
        pending = left;
    }
    s
}

fn hashes(v: &[ByteBuf]) -> Vec<RecordHash> {
    v.iter()
        .filter_map(|h| h.as_slice().try_into().ok().map(RecordHash))
        .collect()
}

/// server.rs `pack`: records by hash, packed into `budget` bytes (8 B per record
/// of allowance), the rest left over.
fn pack(side: &dyn Side, hashes: &[RecordHash], budget: usize) -> (Vec<ByteBuf>, Vec<RecordHash>) {
    let mut out = Vec::new();
    let mut left = Vec::new();
    let mut used = 0usize;
    for h in hashes {
        let Some(bytes) = side.bytes_of(h) else {
            continue;
        };
        let n = bytes.len() + 8;
        if used + n > budget {
            left.push(*h);
            continue;
        }
        used += n;
        out.push(ByteBuf::from(bytes.to_vec()));
    }
    (out, left)
}

// ------------------------------------------- reconciliation: protocol or variant

fn start_any(p: &Params, protocol: bool, side: &dyn Side) -> Vec<Range> {
    if protocol {
        return psync::start(&mut |path| items_under(side, path, 4));
    }
    let mine = items_under(side, &[], p.bits);
    if mine.len() <= p.items_threshold {
        vec![Range::Items {
            path: vec![],
            items: mine,
        }]
    } else {
        vec![Range::Fp {
            path: vec![],
            fp: Fingerprint::of(&mine),
        }]
    }
}

/// `process_bounded` of the protocol, or the bench's copy of it with other constants.
fn process_bounded_any(
    p: &Params,
    protocol: bool,
    ranges: &[Range],
    side: &dyn Side,
    budget: usize,
) -> (Outcome, usize) {
    if protocol {
        return psync::process_bounded(ranges, &mut |path| items_under(side, path, 4), budget);
    }
    let mut out = Outcome::default();
    let mut used = 0;
    for (i, r) in ranges.iter().enumerate() {
        let o = answer_v(p, r, &items_under(side, r.path(), p.bits));
        let size = outcome_bytes(&o);
        if i > 0 && used + size > budget {
            return (out, i);
        }
        used += size;
        out.merge(o);
    }
    (out, ranges.len())
}

/// The protocol's estimate of an answer's encoded size (sync.rs `outcome_bytes`).
fn outcome_bytes(o: &Outcome) -> usize {
    const HASH_BYTES: usize = 36;
    let ranges: usize = o.ranges.iter().map(range_bytes).sum();
    ranges + HASH_BYTES * (o.they_lack.len() + o.i_lack.len())
}

fn range_bytes(r: &Range) -> usize {
    const FP_BYTES: usize = 48;
    const ITEM_BYTES: usize = 64;
    match r {
        Range::Fp { path, .. } => FP_BYTES + path.len(),
        Range::Items { path, items } => FP_BYTES + path.len() + ITEM_BYTES * items.len(),
    }
}

/// sync.rs `answer` with the variant's constants.
fn answer_v(p: &Params, r: &Range, mine: &[Item]) -> Outcome {
    let split = |path: &[u8]| -> Vec<Range> {
        (0..p.fanout())
            .map(|digit| {
                let mut child = path.to_vec();
                child.push(digit as u8);
                let fp =
                    Fingerprint::of(mine.iter().filter(|it| under_bits(&child, &it.id, p.bits)));
                Range::Fp { path: child, fp }
            })
            .collect()
    };
    match r {
        Range::Fp { path, fp } => {
            let ranges = if Fingerprint::of(mine) == *fp {
                vec![]
            } else if mine.len() <= p.items_threshold || path.len() >= p.max_path() {
                vec![Range::Items {
                    path: path.clone(),
                    items: mine.to_vec(),
                }]
            } else {
                split(path)
            };
            Outcome {
                ranges,
                ..Outcome::default()
            }
        }
        Range::Items { path, .. }
            if mine.len() > p.items_answer_limit && path.len() < p.max_path() =>
        {
            Outcome {
                ranges: split(path),
                ..Outcome::default()
            }
        }
        Range::Items { path, items } => answer_items(path, items, mine, p.bits),
    }
}

/// protocol::sync::answer_items, with `under` for any digit width.
fn answer_items(path: &[u8], theirs: &[Item], mine: &[Item], bits: u8) -> Outcome {
    let version = |i: &Item| Version {
        seq: i.seq,
        hash: RecordHash(i.hash),
    };
    let mine_by_id: BTreeMap<[u8; 16], &Item> = mine.iter().map(|i| (i.id, i)).collect();
    let theirs_by_id: BTreeMap<[u8; 16], &Item> = theirs
        .iter()
        .filter(|i| under_bits(path, &i.id, bits))
        .map(|i| (i.id, i))
        .collect();
    let mut out = Outcome::default();
    for (id, t) in &theirs_by_id {
        match mine_by_id.get(id) {
            None => out.i_lack.push(RecordHash(t.hash)),
            Some(m) if version(t).supersedes(&version(m)) => out.i_lack.push(RecordHash(t.hash)),
            Some(m) if version(m).supersedes(&version(t)) => out.they_lack.push(RecordHash(m.hash)),
            Some(_) => {}
        }
    }
    for (id, m) in &mine_by_id {
        if !theirs_by_id.contains_key(id) {
            out.they_lack.push(RecordHash(m.hash));
        }
    }
    out
}

/// My items under a path of `bits`-wide digits (sync/mod.rs `items_for`, which also
/// filters by what the peer may receive: every bench record is `international`).
fn items_under(side: &dyn Side, path: &[u8], bits: u8) -> Vec<Item> {
    let full_bytes = path.len() * bits as usize / 8;
    let mut prefix = Vec::with_capacity(full_bytes);
    for b in 0..full_bytes {
        let mut byte = 0u8;
        for bit in 0..8 {
            let pos = b * 8 + bit;
            let digit = path[pos / bits as usize];
            let shift = bits as usize - 1 - pos % bits as usize;
            byte = (byte << 1) | ((digit >> shift) & 1);
        }
        prefix.push(byte);
    }
    side.items_with_prefix(&prefix)
        .into_iter()
        .filter(|i| under_bits(path, &i.id, bits))
        .collect()
}

fn under_bits(path: &[u8], digest: &[u8; 16], bits: u8) -> bool {
    if bits == 4 {
        return psync::under(path, digest);
    }
    let bits = bits as usize;
    path.iter().enumerate().all(|(i, &n)| {
        let pos = i * bits;
        let byte = digest[pos / 8];
        let shift = 8 - bits - pos % 8;
        (byte >> shift) & ((1u16 << bits) - 1) as u8 == n
    })
}

// ---------------------------------------------------------------- helpers
