//! Ingest benchmark (issue "foundation", item 7): how close does the one ingest path
//! (decode + verify + policy + atomic flushed store) get to bare signature
//! verification, on one core?
//!
//! `cargo bench -p techmesh-node --bench ingest` (or `scripts/bench.sh ingest`).
//! Environment: `TECHMESH_BENCH_RECORDS` (default 20000), `TECHMESH_BENCH_REPS`
//! (default 5), `TECHMESH_BENCH_DIR` (where stores go; default the target's tmp dir),
//! `TECHMESH_BENCH_NO_PIN=1` (do not pin the process to one core with `taskset`).
//!
//! Every figure is a median over the repetitions, and the repetitions interleave the
//! measurements; each ratio is the median of the ratios within one repetition, so it
//! compares figures taken under the same conditions. Rates are given over wall time
//! and over the process's CPU time (the machine may be shared). A last section
//! ("store anatomy") shows the bytes one record adds to the store's files and what
//! writing exactly those bytes costs with no store logic, against `Store::apply`.

mod common;
#[path = "ingest/null_store.rs"]
mod null_store;
use common::*;
use null_store::NullStore;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use ed25519_dalek::Signature;

use techmesh_node::ingest::{now, Ingest};
use techmesh_node::store::{SledStore, Store};
use techmesh_protocol::body::Body;
use techmesh_protocol::record::{Keypair, Record, UnsignedRecord, VerifyOptions};
use techmesh_protocol::time::Timestamp;
use techmesh_protocol::trust::{LocalNode, Member, Roles, TrustList};

const BATCH: usize = 1000;
/// The node.toml default page cache.
const CACHE_MB: u64 = 64;

fn main() {
    pin_to_one_core();
    let n = env_usize("TECHMESH_BENCH_RECORDS", 20_000);
    let reps = env_usize("TECHMESH_BENCH_REPS", 5).max(1);
    let kp = Keypair::from_seed(&[7u8; 32]);
    let issued_at = Timestamp(now().0 - 3600);

    println!(
        "== ingest: {n} distinct entry records, batches of {BATCH}, {reps} repetitions, one core"
    );
    println!("load average at the start: {}", loadavg());
    let bodies: Vec<Body> = (0..n as u64).map(entry_body).collect();
    let records: Vec<Record> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            kp.sign(i as u64 + 1, issued_at, b.clone())
                .expect("sign a bench record")
        })
        .collect();
    let wire: Vec<&[u8]> = records.iter().map(|r| r.bytes()).collect();
    let raw_bytes: usize = wire.iter().map(|b| b.len()).sum();
    println!(
        "record size: mean {} B, min {} B, max {} B",
        raw_bytes / n.max(1),
        wire.iter().map(|b| b.len()).min().unwrap_or(0),
        wire.iter().map(|b| b.len()).max().unwrap_or(0)
    );
    // What the signature covers, and the signature itself (ed25519 is deterministic:
    // signing the same bytes again gives the record's own signature).
    let msgs: Vec<Vec<u8>> = records
        .iter()
        .map(|r| {
            UnsignedRecord {
                publisher: r.publisher,
                seq: r.seq,
                issued_at: r.issued_at,
                body: r.body.clone(),
            }
            .signing_bytes()
        })
        .collect();
    let sigs: Vec<Signature> = msgs
        .iter()
        .map(|m| Signature::from_bytes(&kp.sign_bytes(m)))
        .collect();
    let vk = kp.public().check_point().expect("signer key");
    let opts = VerifyOptions {
        now: now(),
        max_future_skew_secs: 300,
    };
    let dir = bench_dir();
    let local = LocalNode {
        publisher: kp.public(),
        country: "CN".into(),
    };

    let mut m = Medians::default();
    for rep in 0..reps {
        // Publisher side: Keypair::sign (validate, canonical JSON twice, ed25519).
        let t = Clock::start();
        for (i, b) in bodies.iter().enumerate() {
            std::hint::black_box(kp.sign(i as u64 + 1, issued_at, b.clone()).ok());
        }
        m.sign.push(rate(n, t));
        let t = Clock::start();
        for msg in &msgs {
            std::hint::black_box(kp.sign_bytes(msg));
        }
        m.bare_sign.push(rate(n, t));

        // Bare ed25519 verify_strict over the signing bytes, key decoded once.
        let t = Clock::start();
        for (msg, sig) in msgs.iter().zip(&sigs) {
            vk.verify_strict(msg, sig).expect("bare verify");
        }
        m.bare_verify.push(rate(n, t));

        // Publisher key decoding and point checks (Record::verify does it per record).
        let t = Clock::start();
        for r in &records {
            std::hint::black_box(r.publisher.check_point().ok());
        }
        m.check_point.push(rate(n, t));

        // Structural decode only (strict canonical JSON, envelope, body rules).
        let t = Clock::start();
        for b in &wire {
            std::hint::black_box(Record::decode_trusted(b).expect("decode"));
        }
        m.decode.push(rate(n, t));

        // The same with the exact decoder only (JSON tree, canonical comparison,
        // typed body from the tree, normal-form check by writing it back): what
        // decoding cost before the fast path.
        let t = Clock::start();
        for b in &wire {
            std::hint::black_box(Record::decode_trusted_exact(b).expect("decode exact"));
        }
        m.decode_exact.push(rate(n, t));

        // Record::verify: decode + every check + verify_strict.
        let t = Clock::start();
        for b in &wire {
            std::hint::black_box(Record::verify(b, &opts).expect("verify"));
        }
        m.verify.push(rate(n, t));

        // The ingest path without the store: the same calls against a HashMap test
        // double, our own records (the policy's shortest path).
        let ingest = Ingest::new(
            Arc::new(NullStore::default()),
            Arc::new(RwLock::new(TrustList::default())),
            local.clone(),
            300,
        );
        m.null_ingest.push(ingest_all(&ingest, &wire));
        // The same for records of a member listed last of 100 (what gossip and
        // sync bring: deny, anchor, member and revocation lookups, role check).
        let ingest = Ingest::new(
            Arc::new(NullStore::default()),
            Arc::new(RwLock::new(member_trust(&kp, 100))),
            LocalNode {
                publisher: Keypair::from_seed(&[8u8; 32]).public(),
                country: "CN".into(),
            },
            300,
        );
        m.null_member.push(ingest_all(&ingest, &wire));

        // Store alone: Store::apply of verified records, 1000 per atomic flushed batch.
        let tmp = tempdir_in(&dir);
        let store = SledStore::open(tmp.path(), CACHE_MB).expect("open store");
        let t = Clock::start();
        for chunk in records.chunks(BATCH) {
            let out = store.apply(chunk).expect("apply");
            assert!(out.iter().all(|o| o.applied.is_new()));
        }
        m.apply.push(rate(n, t));
        drop(store);
        drop(tmp);

        // The ingest path: Ingest::ingest_bytes, 1000 per call (one apply + flush).
        let tmp = tempdir_in(&dir);
        let store = SledStore::open(tmp.path(), CACHE_MB).expect("open store");
        let ingest = Ingest::new(
            Arc::new(store),
            Arc::new(RwLock::new(TrustList::default())),
            local.clone(),
            300,
        );
        m.ingest.push(ingest_all(&ingest, &wire));
        drop(ingest);
        drop(tmp);
        eprintln!(
            "  rep {}/{reps}: ingest {:.0}/s, Record::verify {:.0}/s, bare verify_strict {:.0}/s",
            rep + 1,
            m.ingest.last().map_or(0.0, |x| x.wall),
            m.verify.last().map_or(0.0, |x| x.wall),
            m.bare_verify.last().map_or(0.0, |x| x.wall)
        );
    }

    let w = |v: &[Sample]| median(&v.iter().map(|x| x.wall).collect::<Vec<_>>());
    let c = |v: &[Sample]| median(&v.iter().map(|x| x.cpu).collect::<Vec<_>>());
    let rows: [(&str, &[Sample]); 11] = [
        (
            "Keypair::sign (validate + canonical JSON + ed25519)",
            &m.sign,
        ),
        ("bare ed25519 sign of the signing bytes", &m.bare_sign),
        (
            "bare ed25519 verify_strict (key decoded once)",
            &m.bare_verify,
        ),
        ("publisher key decode + point checks", &m.check_point),
        (
            "Record::decode_trusted (canonical scan + envelope + typed body + body rules)",
            &m.decode,
        ),
        (
            "Record::decode_trusted_exact (JSON tree + normal-form check, no fast path)",
            &m.decode_exact,
        ),
        ("Record::verify (all checks + verify_strict)", &m.verify),
        (
            "Store::apply of verified records, 1000/batch + flush",
            &m.apply,
        ),
        (
            "Ingest::ingest_bytes, null store (HashMap test double), own records",
            &m.null_ingest,
        ),
        (
            "Ingest::ingest_bytes, null store, records of the 100th of 100 members",
            &m.null_member,
        ),
        (
            "Ingest::ingest_bytes, 1000/batch (decode+verify+policy+store)",
            &m.ingest,
        ),
    ];
    let us = |r: f64| 1e6 / r;
    println!();
    println!("| operation (one core, median of {reps}) | records/s (wall) | µs/record (wall) | records/s (CPU time) |");
    println!("|---|---:|---:|---:|");
    for (name, v) in rows {
        println!("| {name} | {:.0} | {:.1} | {:.0} |", w(v), us(w(v)), c(v));
    }
    let (bare, key, decode, verify, apply, ingest) = (
        w(&m.bare_verify),
        w(&m.check_point),
        w(&m.decode),
        w(&m.verify),
        w(&m.apply),
        w(&m.ingest),
    );
    let rest = us(verify) - us(bare) - us(key) - us(decode);
    let store_share = us(ingest) - us(verify);
    println!();
    println!(
        "cost of one ingested record (wall medians): {:.1} µs =",
        us(ingest)
    );
    println!("  {:.1} µs ed25519 verify_strict", us(bare));
    println!("  {:.1} µs key decode + point checks", us(key));
    println!(
        "  {:.1} µs JSON decode + envelope + body validation",
        us(decode)
    );
    println!("  {rest:.1} µs re-encoding the signing bytes, hashing, the rest of verify");
    println!(
        "  {store_share:.1} µs policy + store (Store::apply alone: {:.1} µs)",
        us(apply)
    );
    // Without the store: what the ingest path adds to Record::verify (CPU time,
    // which the disk does not inflate), and what ingest would be with a store at
    // 10 µs per record.
    let (c_bare, c_verify, c_null, c_member) = (
        c(&m.bare_verify),
        c(&m.verify),
        c(&m.null_ingest),
        c(&m.null_member),
    );
    println!(
        "ingest path besides verify and store (CPU medians): {:.1} µs own records, {:.1} µs a member's (null store {:.1} / {:.1} µs − Record::verify {:.1} µs)",
        us(c_null) - us(c_verify),
        us(c_member) - us(c_verify),
        us(c_null),
        us(c_member),
        us(c_verify)
    );
    println!(
        "projected: with a store at 10 µs/record, ingest ÷ bare verify_strict = {:.2} (own records), {:.2} (a member's) CPU time",
        us(c_bare) / (us(c_null) + 10.0),
        us(c_bare) / (us(c_member) + 10.0)
    );
    // Ratios within each repetition (same conditions), then their median.
    let ratio = |a: &[Sample], b: &[Sample], f: fn(&Sample) -> f64| {
        median(
            &a.iter()
                .zip(b)
                .map(|(x, y)| f(x) / f(y))
                .collect::<Vec<_>>(),
        )
    };
    let wall = |x: &Sample| x.wall;
    let cpu = |x: &Sample| x.cpu;
    let r_bare = ratio(&m.ingest, &m.bare_verify, wall);
    println!();
    println!("ratios: median over the repetitions of the ratio within each repetition");
    println!(
        "RATIO ingest ÷ bare verify_strict = {r_bare:.2} wall, {:.2} CPU time (target ≥ 0.60: {})",
        ratio(&m.ingest, &m.bare_verify, cpu),
        pass(r_bare >= 0.6)
    );
    println!(
        "RATIO ingest with a null store ÷ bare verify_strict = {:.2} wall, {:.2} CPU time (a member's records: {:.2} CPU time)",
        ratio(&m.null_ingest, &m.bare_verify, wall),
        ratio(&m.null_ingest, &m.bare_verify, cpu),
        ratio(&m.null_member, &m.bare_verify, cpu)
    );
    println!(
        "RATIO ingest ÷ Record::verify = {:.2} wall, {:.2} CPU time",
        ratio(&m.ingest, &m.verify, wall),
        ratio(&m.ingest, &m.verify, cpu)
    );
    println!(
        "RATIO Record::verify ÷ bare verify_strict = {:.2} wall, {:.2} CPU time",
        ratio(&m.verify, &m.bare_verify, wall),
        ratio(&m.verify, &m.bare_verify, cpu)
    );
    println!(
        "RATIO Store::apply ÷ bare verify_strict = {:.2} wall, {:.2} CPU time",
        ratio(&m.apply, &m.bare_verify, wall),
        ratio(&m.apply, &m.bare_verify, cpu)
    );
    println!(
        "RATIO decode_trusted ÷ decode_trusted_exact = {:.2} wall, {:.2} CPU time",
        ratio(&m.decode, &m.decode_exact, wall),
        ratio(&m.decode, &m.decode_exact, cpu)
    );
    println!(
        "RATIO sign ÷ bare verify_strict = {:.2} wall",
        ratio(&m.sign, &m.bare_verify, wall)
    );

    anatomy(&records, &dir);
    println!();
    println!("load average at the end: {}", loadavg());
}

/// Where Store::apply's time goes (store format 4): the bytes one record adds to the
/// segment files and the index log, and what writing those bytes costs with no store
/// logic at all — per batch of 1000, the framed record bytes appended + fdatasync, then
/// the index frame's worth of bytes appended + fdatasync — against `Store::apply`.
fn anatomy(records: &[Record], dir: &std::path::Path) {
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    let n = records.len();
    let tmp = tempdir_in(dir);
    let store = SledStore::open(tmp.path(), CACHE_MB).expect("open store");
    let t = Instant::now();
    for chunk in records.chunks(BATCH) {
        store.apply(chunk).expect("apply");
    }
    let apply_s = t.elapsed().as_secs_f64();
    drop(store);
    let segments = dir_mib(&tmp.path().join("records")) * 1024.0 * 1024.0;
    let index = dir_mib(&tmp.path().join("index")) * 1024.0 * 1024.0;
    let total = dir_mib(tmp.path()) * 1024.0 * 1024.0;
    drop(tmp);
    let index_per_record = (index / n as f64).round() as usize;
    println!();
    println!(
        "store anatomy (format 4): per record {:.0} B of segment (record + 8 B frame), {:.0} B of index log, {:.0} B of sled and other files",
        segments / n as f64,
        index / n as f64,
        (total - segments - index) / n as f64
    );
    // The same bytes written with no store logic: two appends + fdatasync per batch.
    let tmp = tempdir_in(dir);
    let mut seg = std::fs::File::create(tmp.path().join("seg")).expect("create");
    let log = std::fs::File::create(tmp.path().join("log")).expect("create");
    let mut log_end = 0u64;
    let t = Instant::now();
    for chunk in records.chunks(BATCH) {
        let mut buf = Vec::new();
        for r in chunk {
            buf.extend_from_slice(&(r.bytes().len() as u32).to_le_bytes());
            buf.extend_from_slice(&crc32fast::hash(r.bytes()).to_le_bytes());
            buf.extend_from_slice(r.bytes());
        }
        seg.write_all(&buf).expect("write");
        seg.sync_data().expect("sync");
        let frame = vec![0x5au8; index_per_record * chunk.len()];
        log.write_all_at(&frame, log_end).expect("write");
        log.sync_data().expect("sync");
        log_end += frame.len() as u64;
    }
    let bare_s = t.elapsed().as_secs_f64();
    drop(tmp);
    println!("| 1000 records per batch | records/s | µs/record |");
    println!("|---|---:|---:|");
    for (label, secs) in [
        ("Store::apply (fresh store, one pass)", apply_s),
        (
            "bare files: same bytes, 2 appends + 2 fdatasync per batch",
            bare_s,
        ),
    ] {
        println!(
            "| {label} | {:.0} | {:.1} |",
            n as f64 / secs,
            secs * 1e6 / n as f64
        );
    }
    println!(
        "RATIO Store::apply ÷ bare file writes = {:.2}",
        bare_s / apply_s
    );
}

fn dir_mib(dir: &std::path::Path) -> f64 {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total as f64 / (1024.0 * 1024.0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[derive(Default)]
struct Medians {
    sign: Vec<Sample>,
    bare_sign: Vec<Sample>,
    bare_verify: Vec<Sample>,
    check_point: Vec<Sample>,
    decode: Vec<Sample>,
    decode_exact: Vec<Sample>,
    verify: Vec<Sample>,
    apply: Vec<Sample>,
    ingest: Vec<Sample>,
    null_ingest: Vec<Sample>,
    null_member: Vec<Sample>,
}

/// Ingest `wire` in batches of [`BATCH`] into a fresh store; every record must be
/// accepted and new.
fn ingest_all(ingest: &Ingest, wire: &[&[u8]]) -> Sample {
    let t = Clock::start();
    for chunk in wire.chunks(BATCH) {
        let out = ingest.ingest_bytes(chunk);
        assert!(
            out.iter()
                .all(|r| r.as_ref().is_ok_and(|(_, o)| o.applied.is_new())),
            "every record must be accepted and new"
        );
    }
    let sample = rate(wire.len(), t);
    let counts = ingest.store.counts().expect("counts");
    assert_eq!(counts.entry, wire.len() as u64);
    sample
}

/// A trust list of `members` entry publishers, `kp`'s key held by the last one.
fn member_trust(kp: &Keypair, members: usize) -> TrustList {
    let members = (0..members)
        .map(|i| Member {
            name: format!("member-{i}"),
            country: "DE".into(),
            publisher_keys: vec![if i + 1 == members {
                kp.public()
            } else {
                Keypair::from_seed(&[(i % 200) as u8 + 20; 32]).public()
            }],
            roles: Roles {
                publish_entries: true,
                ..Roles::default()
            },
            ..Member::default()
        })
        .collect();
    TrustList {
        members,
        ..TrustList::default()
    }
}

/// One measurement: records per second of wall time and of CPU time (all threads of
/// this process, sled's included: the machine may be shared, CPU time shows what
/// the work itself costs; wall time also counts waiting for the disk).
#[derive(Clone, Copy)]
struct Sample {
    wall: f64,
    cpu: f64,
}

struct Clock {
    wall: Instant,
    cpu_ns: u64,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            wall: Instant::now(),
            cpu_ns: cpu_ns(),
        }
    }
}

/// CPU time of every thread of this process (first field of each schedstat), in ns.
fn cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn rate(n: usize, t: Clock) -> Sample {
    let wall = t.wall.elapsed().as_secs_f64();
    let cpu = cpu_ns().saturating_sub(t.cpu_ns) as f64 / 1e9;
    Sample {
        wall: n as f64 / wall,
        cpu: n as f64 / cpu.max(1e-9),
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    match s.len() {
        0 => 0.0,
        l if l % 2 == 1 => s[l / 2],
        l => (s[l / 2 - 1] + s[l / 2]) / 2.0,
    }
}

fn tempdir_in(dir: &std::path::Path) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("techmesh-bench-")
        .tempdir_in(dir)
        .expect("temp dir")
}
