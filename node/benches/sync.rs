//! Sync benchmark (issue #3, item 10): two stores of 100,000 records that differ by
//! d = 1, 100, 10,000 records (d/2 on each side, all d on the initiator, all d on the
//! responder); one full anti-entropy session each, run by the node's own code: the
//! initiator is `techmesh_node::sync::session`, its requests go through an in-memory
//! link straight to the responder's `techmesh_node::sync::answer`, both on real sled
//! stores through `Ingest` (verify + policy + store). Nothing of the protocol is
//! mirrored here. Every request and response is CBOR-encoded by the session with
//! `cbor4ii` (the codec of libp2p's request-response `cbor`) to count wire bytes; the
//! largest is checked against the 262,144-byte message bound; after the session both
//! stores must hold the same current versions (equal digests).
//!
//! Round trips = sequential request/response phases (the requests of one phase are in
//! flight together and count once); messages = requests (each with one response);
//! waves = Σ over phases of ⌈requests / 4⌉, the latency periods when at most 4 are in
//! flight per peer.
//!
//! `cargo bench -p techmesh-node --bench sync` (or `scripts/bench.sh sync`).
//! Environment: `TECHMESH_BENCH_SYNC_RECORDS` (records per store, default 100000),
//! `TECHMESH_BENCH_DIR`, `TECHMESH_BENCH_NO_PIN=1`.

mod common;
use common::*;
use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use libp2p::PeerId;

use techmesh_node::ingest::{now, Ingest};
use techmesh_node::store::SledStore;
use techmesh_node::sync::{self, Refused, SessionStats, SyncConfig, SyncLink};
use techmesh_protocol::record::{Keypair, Record};
use techmesh_protocol::sync::{SyncRequest, SyncResponse};
use techmesh_protocol::time::Timestamp;
use techmesh_protocol::trust::{LocalNode, Member, ScopeName, TrustList};

/// node.toml default `network.max_message_bytes`: the codec refuses larger messages.
const MAX_MESSAGE_BYTES: usize = 262_144;
/// `SyncConfig::message_budget` as `run.rs` sets it.
const MESSAGE_BUDGET: usize = MAX_MESSAGE_BYTES * 3 / 4;
const CACHE_MB: u64 = 64;
const KIB: f64 = 1024.0;

/// The responder, in memory: each request answered by the node's own server code.
struct MemLink {
    responder: Ingest,
    asker: PeerId,
}

impl SyncLink for MemLink {
    fn request(&self, req: SyncRequest) -> BoxFuture<'_, anyhow::Result<SyncResponse>> {
        let resp = sync::answer(&self.responder, &self.asker, req, MESSAGE_BUDGET);
        Box::pin(async move { Ok(resp) })
    }
}

fn member(name: &str, peer: PeerId) -> Member {
    Member {
        name: name.into(),
        country: "CN".into(),
        peer_ids: vec![peer.to_string()],
        receive_scopes: [
            ScopeName::Federation,
            ScopeName::National,
            ScopeName::International,
        ]
        .into_iter()
        .collect(),
        ..Member::default()
    }
}

fn open_ingest(path: &std::path::Path, kp: &Keypair, other: Member) -> Ingest {
    Ingest {
        store: Arc::new(SledStore::open(path, CACHE_MB).expect("open store")),
        trust: Arc::new(RwLock::new(TrustList {
            members: vec![other],
            ..TrustList::default()
        })),
        local: LocalNode {
            publisher: kp.public(),
            country: "CN".into(),
        },
        max_future_skew_secs: 300,
        observers: Default::default(),
    }
}

struct Outcome {
    d: usize,
    label: &'static str,
    stats: SessionStats,
    missing: u64,
    wall: Duration,
}

impl Outcome {
    fn wire(&self) -> u64 {
        self.stats.bytes_sent + self.stats.bytes_received
    }
    fn limit(&self) -> f64 {
        1.5 * self.missing as f64 + 8.0 * KIB
    }
}

fn main() {
    pin_to_one_core();
    let n = env_usize("TECHMESH_BENCH_SYNC_RECORDS", 100_000).max(20_000);
    let max_d = 10_000.min(n / 10);
    let ds: Vec<usize> = [1, 100, 10_000].into_iter().map(|d| d.min(max_d)).collect();
    println!("== sync: two stores of {n} records differing by d = {ds:?}");
    println!(
        "message bound {MAX_MESSAGE_BYTES} B, budget {MESSAGE_BUDGET} B per answer, {} hashes per fetch",
        sync::FETCH_CHUNK
    );

    // The record pool: P[0..n + max_d].
    let t = Instant::now();
    let kp = Keypair::from_seed(&[23u8; 32]);
    let issued_at = Timestamp(now().0 - 3600);
    let total = n + max_d;
    let pool: Vec<Record> = (0..total as u64)
        .map(|i| kp.sign(i + 1, issued_at, entry_body(i)).expect("sign"))
        .collect();
    eprintln!(
        "  signed {total} records in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let dir = bench_dir();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (peer_a, peer_b) = (PeerId::random(), PeerId::random());

    let mut outcomes = Vec::new();
    for &d in &ds {
        let h = d / 2;
        let configs: [(&'static str, Vec<usize>, Vec<usize>); 3] = [
            (
                "split: d/2 on each side",
                (0..n).collect(),
                (0..n - h).chain(n..n + (d - h)).collect(),
            ),
            (
                "initiator has all d",
                (0..n).collect(),
                (0..n - d).collect(),
            ),
            (
                "responder has all d",
                (0..n - d).collect(),
                (0..n).collect(),
            ),
        ];
        for (label, a_idx, b_idx) in configs {
            let tmp = tempfile::Builder::new()
                .prefix("techmesh-bench-sync-")
                .tempdir_in(&dir)
                .expect("temp dir");
            let a = open_ingest(&tmp.path().join("a"), &kp, member("b", peer_b));
            let b = open_ingest(&tmp.path().join("b"), &kp, member("a", peer_a));
            for (ingest, idx) in [(&a, &a_idx), (&b, &b_idx)] {
                let recs: Vec<Record> = idx.iter().map(|&i| pool[i].clone()).collect();
                for chunk in recs.chunks(1000) {
                    ingest.store.apply(chunk).expect("apply");
                }
            }
            let (sa, sb): (BTreeSet<usize>, BTreeSet<usize>) =
                (a_idx.into_iter().collect(), b_idx.into_iter().collect());
            let missing: u64 = sa
                .symmetric_difference(&sb)
                .map(|&i| pool[i].bytes().len() as u64)
                .sum();
            let cfg = SyncConfig {
                interval: Duration::from_secs(30),
                message_budget: MESSAGE_BUDGET,
            };
            let link = MemLink {
                responder: b.clone(),
                asker: peer_a,
            };
            let refused = Refused::default();
            let t = Instant::now();
            let (stats, result) = rt.block_on(sync::session(
                &cfg,
                &a,
                &link,
                &member("b", peer_b),
                &refused,
                &|_| {},
            ));
            let wall = t.elapsed();
            result.unwrap_or_else(|e| panic!("d = {d} {label}: session failed: {e:#}"));
            assert_eq!(
                a.store.digest().expect("digest"),
                b.store.digest().expect("digest"),
                "d = {d} {label}: the stores differ after the session"
            );
            assert!(
                stats.largest_message <= MAX_MESSAGE_BYTES as u64,
                "d = {d} {label}: a message of {} bytes",
                stats.largest_message
            );
            eprintln!(
                "  d = {d} {label}: {stats:?} in {:.2} s",
                wall.as_secs_f64()
            );
            outcomes.push(Outcome {
                d,
                label,
                stats,
                missing,
                wall,
            });
        }
    }

    println!();
    println!("| d | configuration | found by | round trips | messages (waves at ≤ 4 in flight) | wire bytes (sent + received) | missing record bytes | wire ÷ missing | overhead = wire − missing | bytes ≤ 1.5 × missing + 8 KiB | round trips ≤ 4 |");
    println!("|---:|---|---|---:|---|---:|---:|---:|---:|---|---|");
    for o in &outcomes {
        let s = &o.stats;
        let found = match s.method {
            "table" if s.table_retries > 0 => format!(
                "table of {} cells ({} bigger asked)",
                s.table_cells, s.table_retries
            ),
            "table" => format!("table of {} cells", s.table_cells),
            m => m.to_string(),
        };
        println!(
            "| {} | {} | {} | {} | {} ({}) | {:.1} KiB ({:.1} + {:.1}) | {:.1} KiB | {:.2} | {:.1} KiB | {} | {} |",
            fmt_n(o.d as u64),
            o.label,
            found,
            s.round_trips,
            s.messages,
            s.waves,
            o.wire() as f64 / KIB,
            s.bytes_sent as f64 / KIB,
            s.bytes_received as f64 / KIB,
            o.missing as f64 / KIB,
            o.wire() as f64 / o.missing.max(1) as f64,
            (o.wire() as f64 - o.missing as f64) / KIB,
            if (o.wire() as f64) <= o.limit() {
                "PASS".to_string()
            } else {
                format!("**MISS** (limit {:.1} KiB)", o.limit() / KIB)
            },
            pass(s.round_trips <= 4),
        );
    }
    let largest = outcomes
        .iter()
        .map(|o| o.stats.largest_message)
        .max()
        .unwrap_or(0);
    println!();
    println!(
        "largest message {largest} B (bound {MAX_MESSAGE_BYTES}); session wall times (two sled stores on one core, ingest included): {}",
        outcomes
            .iter()
            .map(|o| format!("{:.2} s", o.wall.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn fmt_n(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}
