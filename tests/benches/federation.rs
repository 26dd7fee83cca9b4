//! Federation benchmarks on real local nodes (release binary):
//! - propagation from publish to stored-on-all, p50/p99, on 10 and 30 nodes
//!   (ring + chords, degree 4), from the nodes' own JSON logs (publish and arrival
//!   timestamps of one machine's clock);
//! - sustained network-wide publish rate that 10 nodes keep up with.
//!
//! Run: `scripts/bench.sh federation` (or `TECHMESH_BIN=target/release/techmesh
//! cargo bench -p techmesh-tests --bench federation`). `TECHMESH_BENCH_SIZES=10,30`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use techmesh_protocol::time::Date;
use techmesh_tests::{wait_until, Federation, Spec};

fn entry(local_id: &str) -> Value {
    json!({
        "local_id": local_id, "entry_type": "offer",
        "title": {"en": format!("benchmark offer {local_id}")},
        "summary": {"en": "propagation benchmark"},
        "classifications": [{"scheme": "ipc", "code": "H01M 10/0525"}],
        "transfer_modes": ["licence"], "trl": {"scheme": "trl-eu", "level": 6},
        "organisation": {"name": {"en": "Bench"}, "kind": "university", "country": "CN"},
        "valid_from": "2026-03-01", "valid_until": "2027-03-01"
    })
}

/// Seconds since the epoch of an RFC 3339 timestamp with fractional seconds.
fn ts(s: &str) -> Option<f64> {
    let day = Date::parse(s.get(0..10)?)?.0 as f64;
    let h: f64 = s.get(11..13)?.parse().ok()?;
    let m: f64 = s.get(14..16)?.parse().ok()?;
    let sec: f64 = s.get(17..)?.trim_end_matches('Z').parse().ok()?;
    Some(day * 86400.0 + h * 3600.0 + m * 60.0 + sec)
}

/// (record id → publish time) and (record id → arrival times on other nodes).
fn read_logs(f: &Federation) -> (HashMap<String, f64>, HashMap<String, Vec<f64>>) {
    let (mut published, mut arrived): (HashMap<String, f64>, HashMap<String, Vec<f64>>) =
        Default::default();
    for m in &f.members {
        let text = std::fs::read_to_string(m.dir.join("node.log")).unwrap_or_default();
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let (Some(t), Some(msg), Some(id)) = (
                v["timestamp"].as_str().and_then(ts),
                v["fields"]["message"].as_str(),
                v["fields"]["id"].as_str(),
            ) else {
                continue;
            };
            match msg {
                "published" => {
                    published.insert(id.to_string(), t);
                }
                "stored record from gossip" | "stored record from sync" => {
                    arrived.entry(id.to_string()).or_default().push(t)
                }
                _ => {}
            }
        }
    }
    (published, arrived)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ring_with_chords(n: usize) -> Vec<(usize, usize)> {
    let mut l: Vec<(usize, usize)> = (0..n).map(|i| (i, (i + 1) % n)).collect();
    l.extend((0..n).map(|i| (i, (i + 3) % n)));
    l.sort();
    l.dedup();
    l
}

fn start(n: usize) -> Federation {
    let specs: Vec<Spec> = (0..n)
        .map(|i| Spec::new(Box::leak(format!("n{i:02}").into_boxed_str()), "CN"))
        .collect();
    let links = ring_with_chords(n);
    let f = Federation::start(&specs, &links);
    let degree: Vec<usize> = (0..n)
        .map(|i| (0..n).filter(|&j| j != i && f.linked(i, j)).count())
        .collect();
    wait_until(
        "every node connected to its neighbours",
        Duration::from_secs(300),
        || {
            let c: Vec<usize> = (0..n).map(|i| f.node(i).connected().len()).collect();
            (c.iter().zip(&degree).all(|(k, d)| k >= d), c)
        },
    );
    f
}

fn all_have(f: &Federation, n: usize, total: u64, what: &str) {
    wait_until(what, Duration::from_secs(600), || {
        let t: Vec<u64> = (0..n).map(|i| f.node(i).total()).collect();
        (t.iter().all(|&x| x >= total), t)
    });
}

fn propagation(n: usize, records: usize) {
    let f = start(n);
    // Warm-up: one record everywhere, so meshes have formed.
    f.node(0).publish(&entry("warmup"));
    all_have(&f, n, 1, "warm-up record everywhere");
    let t0 = Instant::now();
    for k in 0..records {
        f.node(k % n).publish(&entry(&format!("p-{k}")));
        std::thread::sleep(Duration::from_millis(100));
    }
    all_have(&f, n, 1 + records as u64, "all records everywhere");
    let wall = t0.elapsed();
    let (published, arrived) = read_logs(&f);
    if published.is_empty() {
        let sample = std::fs::read_to_string(f.members[0].dir.join("node.log")).unwrap_or_default();
        eprintln!(
            "no publish events in the logs; first lines of n00:\n{}",
            sample.lines().take(5).collect::<Vec<_>>().join("\n")
        );
    }
    let mut lat: Vec<f64> = Vec::new();
    let mut via_sync = 0;
    for (id, t_pub) in &published {
        if id.ends_with("/warmup") {
            continue;
        }
        let arr = arrived.get(id).cloned().unwrap_or_default();
        if arr.len() + 1 < n {
            via_sync += 1;
            continue;
        }
        let last = arr.iter().cloned().fold(f64::MIN, f64::max);
        lat.push((last - t_pub) * 1000.0);
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "propagation n={n}: records={} p50={:.1} ms p99={:.1} ms max={:.1} ms (publish→stored on all {} nodes; {} records incomplete in logs; wall {:.1} s)",
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN),
        n,
        via_sync,
        wall.as_secs_f64()
    );
}

/// Publish `rate` records/s network-wide (from all nodes, in batches of 10) for
/// `secs`; report how long after the last publish every node holds everything.
fn sustained(n: usize, rate: usize, secs: u64, f: &Federation, base: u64) -> (f64, f64) {
    let batches_per_sec = (rate / 10).max(1);
    let interval = Duration::from_secs_f64(1.0 / batches_per_sec as f64);
    let start = Instant::now();
    let mut sent = 0u64;
    let mut k = 0usize;
    while start.elapsed() < Duration::from_secs(secs) {
        let bodies: Vec<Value> = (0..10)
            .map(|j| entry(&format!("s{rate}-{k}-{j}")))
            .collect();
        let (s, v) = f
            .node(k % n)
            .post("/v1/publish", &json!({"bodies": bodies}));
        assert_eq!(s, 200, "{v}");
        sent += 10;
        k += 1;
        let next = interval * k as u32;
        if let Some(wait) = next.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let publish_secs = start.elapsed().as_secs_f64();
    let t_end = Instant::now();
    all_have(f, n, base + sent, "all nodes caught up");
    (sent as f64 / publish_secs, t_end.elapsed().as_secs_f64())
}

fn main() {
    let sizes: Vec<usize> = std::env::var("TECHMESH_BENCH_SIZES")
        .unwrap_or_else(|_| "10,30".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    assert!(
        std::env::var("TECHMESH_BIN").is_ok(),
        "set TECHMESH_BIN to a release build (scripts/bench.sh does)"
    );
    // SAFETY: single-threaded at this point; child processes inherit it.
    unsafe {
        std::env::set_var("TECHMESH_LOG_FORMAT", "json");
        std::env::set_var("TECHMESH_TEST_LOG", "warn,techmesh_node=debug");
    }
    println!(
        "machine: {} cores; {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        env!("CARGO_PKG_NAME")
    );
    for &n in &sizes {
        propagation(n, 40);
    }
    if std::env::var("TECHMESH_BENCH_SKIP_RATE").is_err() {
        let f = start(10);
        let mut base = 0;
        for rate in [50usize, 100, 200, 400] {
            let (achieved, lag) = sustained(10, rate, 15, &f, base);
            base = (0..10).map(|i| f.node(i).total()).min().unwrap_or(0);
            println!("sustained n=10: target {rate}/s achieved {achieved:.0} records/s; all nodes caught up {lag:.2} s after the last publish");
        }
    }
}
