//! Flood benchmark (issue 8, item 3) on real local nodes (release binary):
//! publisher P – receiver R – third node T, and a flooder F (a trusted member gone
//! bad, `techmesh debug-flood`) linked to R. P publishes N records as fast as its
//! API takes them, once without and once during a flood of records half of which
//! carry a bad signature. Prints:
//!
//! - honest throughput at R (P's records stored per second) in both runs and
//!   their ratio (the issue asks ≥ 0.7);
//! - bad records stored on any node (must be 0) and invalid records T saw (must be
//!   0: R forwarded none);
//! - bad records R verified from F before it disconnected and blocked it (≤ 100),
//!   what F had sent by then, and how long it took;
//! - R's peak RSS (VmHWM) in both runs.
//!
//! Run: `scripts/bench.sh flood` (or `TECHMESH_BIN=target/release/techmesh cargo
//! bench -p techmesh-tests --bench flood`). `TECHMESH_BENCH_FLOOD_RECORDS` (default
//! 3000).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use techmesh_tests::{wait_until, Federation, Spec};

const P: usize = 0;
const R: usize = 1;
const T: usize = 2;
const F: usize = 3;
/// Bodies per publish call.
const BATCH: usize = 100;
/// Longest wait for anything in a run.
const WAIT: Duration = Duration::from_secs(600);

fn entry(local_id: &str) -> Value {
    json!({
        "local_id": local_id, "entry_type": "offer",
        "title": {"en": format!("honest offer {local_id}")},
        "summary": {"en": "flood benchmark"},
        "classifications": [{"scheme": "ipc", "code": "H01M 10/0525"}],
        "transfer_modes": ["licence"], "trl": {"scheme": "trl-eu", "level": 6},
        "organisation": {"name": {"en": "Bench"}, "kind": "university", "country": "CN"},
        "valid_from": "2026-03-01", "valid_until": "2027-03-01", "scope": "federation"
    })
}

/// Entries node `n` holds from P: every entry but F's.
fn honest_entries(f: &Federation, n: usize) -> u64 {
    let entries = f.node(n).status()["records"]["entry"].as_u64().unwrap_or(0);
    entries.saturating_sub(f.record_ids(n, &f.members[F].publisher).len() as u64)
}

/// Peak resident set (kB) of the `techmesh run` process on `dir`.
fn peak_rss_kb(dir: &std::path::Path) -> Option<u64> {
    let want = dir.to_string_lossy().to_string();
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(&want) && cmd.contains(" run ") {
            let status = std::fs::read_to_string(e.path().join("status")).ok()?;
            return status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse().ok());
        }
    }
    None
}

/// Seconds of the day of a log line's RFC 3339 timestamp (`…THH:MM:SS.ffffffZ`,
/// possibly wrapped in terminal colour codes).
fn line_time(line: &str) -> Option<f64> {
    let b = line.as_bytes();
    let at = (0..b.len().saturating_sub(9)).find(|&i| {
        b[i] == b'T' && b[i + 1].is_ascii_digit() && b[i + 2].is_ascii_digit() && b[i + 3] == b':'
    })?;
    let hms: String = line[at + 1..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ':' || *c == '.')
        .collect();
    let mut it = hms.split(':');
    let h: f64 = it.next()?.parse().ok()?;
    let m: f64 = it.next()?.parse().ok()?;
    let s: f64 = it.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// From R's log: bad records verified from `peer` before it was blocked, and the
/// seconds from the first of them to the block.
fn disconnect_figures(log: &str, peer: &str) -> (usize, Option<f64>) {
    let mut bad = 0;
    let mut first = None;
    for l in log.lines().filter(|l| l.contains(peer)) {
        if l.contains("invalid record in gossip") {
            bad += 1;
            first = first.or_else(|| line_time(l));
        } else if l.contains("disconnected and blocked") {
            let took = first.zip(line_time(l)).map(|(a, b)| b - a);
            return (bad, took);
        }
    }
    (bad, None)
}

struct Figures {
    per_sec: f64,
    rss_kb: Option<u64>,
    flood: Option<Value>,
    bad_verified: usize,
    to_disconnect_s: Option<f64>,
    bad_stored: usize,
    invalid_at_t: usize,
}

fn run(records: usize, flood: bool) -> Figures {
    let mut f = Federation::init(
        &[
            Spec::new("publisher", "CN"),
            Spec::new("receiver", "CN"),
            Spec::new("third", "CN"),
            Spec::new("flooder", "CN"),
        ],
        &[(P, R), (R, T), (R, F)],
    );
    for i in [P, R, T] {
        f.start_node(i);
    }
    let warm = f.node(P).publish(&entry("warm-up"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until("warm-up record on T", WAIT, || (f.node(T).has(&warm), ()));
    let f_peer = f.members[F].peer_id.clone();
    let flooder = flood.then(|| {
        let c = f.spawn_flooder(F, R);
        wait_until("R verifies the first flood records", WAIT, || {
            (f.node(R).log().contains("invalid record in gossip"), ())
        });
        c
    });
    let start = Instant::now();
    for b in 0..records.div_ceil(BATCH) {
        let bodies: Vec<Value> = (b * BATCH..((b + 1) * BATCH).min(records))
            .map(|k| entry(&format!("h-{k}")))
            .collect();
        let (s, v) = f.node(P).post("/v1/publish", &json!({ "bodies": bodies }));
        assert_eq!(s, 200, "publish: {v}");
    }
    let want = records as u64 + 1;
    wait_until("every honest record on R", WAIT, || {
        let n = honest_entries(&f, R);
        (n >= want, n)
    });
    let per_sec = records as f64 / start.elapsed().as_secs_f64();
    wait_until("every honest record on T", WAIT, || {
        let n = honest_entries(&f, T);
        (n >= want, n)
    });
    let rss_kb = peak_rss_kb(&f.members[R].dir);
    let report = flooder.map(|c| {
        let out = c.wait_with_output().expect("debug-flood output");
        serde_json::from_slice::<Value>(&out.stdout).unwrap_or_else(
            |e| json!({"error": format!("{e}: {}", String::from_utf8_lossy(&out.stderr))}),
        )
    });
    let (bad_verified, to_disconnect_s) = disconnect_figures(&f.node(R).log(), &f_peer);
    let bad_stored = [P, R, T]
        .iter()
        .map(|&n| {
            f.record_ids(n, &f.members[F].publisher)
                .iter()
                .filter(|id| id.contains("/flood-bad-"))
                .count()
        })
        .sum();
    let invalid_at_t = f
        .node(T)
        .log()
        .lines()
        .filter(|l| l.contains("invalid record in gossip"))
        .count();
    for i in [P, R, T] {
        f.stop_node(i);
    }
    Figures {
        per_sec,
        rss_kb,
        flood: report,
        bad_verified,
        to_disconnect_s,
        bad_stored,
        invalid_at_t,
    }
}

fn main() {
    assert!(
        std::env::var("TECHMESH_BIN").is_ok(),
        "set TECHMESH_BIN to a release build (scripts/bench.sh does)"
    );
    let records: usize = std::env::var("TECHMESH_BENCH_FLOOD_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let clean = run(records, false);
    let flooded = run(records, true);
    let ratio = flooded.per_sec / clean.per_sec;
    let fl = flooded.flood.clone().unwrap_or(Value::Null);
    println!("| run | honest records/s at R | R peak RSS |");
    println!("|---|---|---|");
    for (name, x) in [("no flood", &clean), ("flood, 50 % bad", &flooded)] {
        println!(
            "| {name} | {:.0} | {} MiB |",
            x.per_sec,
            x.rss_kb
                .map_or("?".into(), |k| format!("{:.0}", k as f64 / 1024.0))
        );
    }
    println!();
    println!(
        "flooder: sent {} records ({} bad) in {:.1} s at {:.0}/s; disconnected: {}; by then it had sent {} ({} bad)",
        fl["sent"], fl["bad"], fl["seconds"].as_f64().unwrap_or(0.0),
        fl["rate_per_s"].as_f64().unwrap_or(0.0), fl["disconnected"],
        fl["disconnected_after_sent"], fl["disconnected_after_bad"]
    );
    println!(
        "R verified {} bad records from F before blocking it, {} s after the first",
        flooded.bad_verified,
        flooded
            .to_disconnect_s
            .map_or("?".into(), |s| format!("{s:.2}"))
    );
    println!(
        "bad records stored on P, R, T: {}; invalid records seen by T (forwarded by R): {}",
        flooded.bad_stored, flooded.invalid_at_t
    );
    println!("RATIO flood_throughput_ratio {ratio:.2}");
    println!(
        "RATIO flood_bad_verified_before_block {}",
        flooded.bad_verified
    );
    println!("RATIO flood_bad_stored {}", flooded.bad_stored);
    println!(
        "RATIO flood_rss_ratio {:.2}",
        flooded.rss_kb.unwrap_or(0) as f64 / clean.rss_kb.unwrap_or(1).max(1) as f64
    );
}
