//! Federated search benchmark on real local nodes (release binary): one asker and 10
//! peers on 127.0.0.1, each peer holding the demo entries plus generated ones (all
//! replicated everywhere, so every peer has the whole library to search).
//!
//! - all peers up: N federated searches (varied queries), p50/p99/max end to end
//!   (HTTP request to the asker → answer with every peer's part);
//! - one peer dead (stopped) and one slow (SIGSTOP: connected, never answers), with a
//!   deadline D: p50/p99/max, which must stay within D plus a little.
//!
//! Run: `scripts/bench.sh fedsearch` (or `TECHMESH_BIN=target/release/techmesh
//! cargo bench -p techmesh-tests --bench fedsearch`). Environment:
//! `TECHMESH_BENCH_FED_QUERIES` (default 200), `TECHMESH_BENCH_FED_ENTRIES` generated
//! entries per peer (default 200), `TECHMESH_BENCH_FED_DEADLINE_MS` (default 300).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use techmesh_tests::{cli, demo_data, wait_until, Federation, Spec};

const PEERS: usize = 10;
const QUERIES: [&str; 8] = [
    "lithium", "battery", "锂电", "solar", "water", "vaccine", "sensor", "catalyst",
];

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn generated(peer: usize, k: usize) -> Value {
    let topic = QUERIES[k % QUERIES.len()];
    json!({
        "local_id": format!("gen-{peer}-{k}"), "entry_type": if k.is_multiple_of(3) { "request" } else { "offer" },
        "title": {"en": format!("{topic} technology {k} of exchange {peer}")},
        "summary": {"en": format!("A generated {topic} entry for the federated search benchmark.")},
        "classifications": [{"scheme": "ipc", "code": "H01M 10/0525"}],
        "transfer_modes": ["licence"], "trl": {"scheme": "trl-eu", "level": 5 + (k % 4) as u8},
        "organisation": {"name": {"en": format!("Org {peer}")}, "kind": "university", "country": "CN"},
        "valid_from": "2026-03-01", "valid_until": "2027-03-01"
    })
}

/// The records an import stored: the `N inserted` of the CLI's "imported M record(s)
/// from FILE (N inserted, …)" (on stderr).
fn inserted(out: &str) -> u64 {
    assert!(out.contains("imported "), "no import summary in {out:?}");
    let words: Vec<&str> = out.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[1].trim_end_matches([')', ',']) == "inserted")
        .filter_map(|w| w[0].trim_start_matches('(').parse::<u64>().ok())
        .sum()
}

/// Import one demo file and `entries` generated entries into a stopped node; the
/// number of records imported.
fn import(dir: &Path, peer: usize, entries: usize) -> u64 {
    let demo = [
        "entries-hubei.jsonl",
        "entries-guangdong.jsonl",
        "entries-sichuan.jsonl",
        "entries-africa.jsonl",
        "entries-kazakhstan.jsonl",
    ][peer % 5];
    let demo = cli(dir, &["import", demo_data(demo).to_str().unwrap()]).ok();
    let file = dir.join("generated.jsonl");
    let mut w = std::fs::File::create(&file).unwrap();
    for k in 0..entries {
        writeln!(w, "{}", generated(peer, k)).unwrap();
    }
    let generated = cli(dir, &["import", file.to_str().unwrap()]).ok();
    inserted(&demo.stderr) + inserted(&generated.stderr)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// PID of the `techmesh run` process on `dir` (from /proc).
fn pid_of(dir: &Path) -> i32 {
    let want = dir.to_string_lossy().to_string();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmd
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.iter().any(|a| a == &want) && args.iter().any(|a| a == "run") {
            return pid;
        }
    }
    panic!("no techmesh process for {want}");
}

/// Run `n` federated searches from node 0; (latencies in ms, peer statuses seen).
fn run(f: &Federation, n: usize, deadline_ms: u64) -> (Vec<f64>, Vec<String>) {
    let mut lat = Vec::with_capacity(n);
    let mut statuses = Vec::new();
    for k in 0..n {
        let body = json!({"q": QUERIES[k % QUERIES.len()], "deadline_ms": deadline_ms});
        let t = Instant::now();
        let (s, v) = f.node(0).post("/v1/federated-search", &body);
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(s, 200, "{v}");
        for p in v["peers"].as_array().into_iter().flatten() {
            statuses.push(format!(
                "{}:{}",
                p["member"].as_str().unwrap_or("?"),
                p["status"].as_str().unwrap_or("?")
            ));
        }
    }
    lat.sort_by(f64::total_cmp);
    statuses.sort();
    statuses.dedup();
    (lat, statuses)
}

fn report(what: &str, lat: &[f64]) {
    println!(
        "fedsearch {what}: queries={} p50={:.1} ms p99={:.1} ms max={:.1} ms",
        lat.len(),
        percentile(lat, 0.5),
        percentile(lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
}

fn main() {
    assert!(
        std::env::var("TECHMESH_BIN").is_ok(),
        "set TECHMESH_BIN to a release build (scripts/bench.sh does)"
    );
    let queries = env_or("TECHMESH_BENCH_FED_QUERIES", 200) as usize;
    let entries = env_or("TECHMESH_BENCH_FED_ENTRIES", 200) as usize;
    let deadline = env_or("TECHMESH_BENCH_FED_DEADLINE_MS", 300);
    // SAFETY: single-threaded at this point; child processes inherit it.
    unsafe { std::env::set_var("TECHMESH_TEST_LOG", "warn") };
    println!(
        "machine: {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let specs: Vec<Spec> = (0..=PEERS)
        .map(|i| Spec::new(Box::leak(format!("x{i:02}").into_boxed_str()), "CN"))
        .collect();
    // A star around the asker, plus a ring among the peers.
    let mut links: Vec<(usize, usize)> = (1..=PEERS).map(|i| (0, i)).collect();
    links.extend((1..=PEERS).map(|i| (i, i % PEERS + 1)));
    let mut f = Federation::init(&specs, &links);
    // The library is counted at import, before any node runs: summing the peers'
    // totals after they start counts whatever they already synced from their ring
    // neighbours twice, a total no node ever reaches (why this benchmark never got
    // past the wait below).
    let total: u64 = (1..=PEERS)
        .map(|i| import(&f.members[i].dir, i, entries))
        .sum();
    for i in 0..=PEERS {
        f.start_node(i);
    }
    wait_until(
        "every node holds the whole library",
        Duration::from_secs(600),
        || {
            let t: Vec<u64> = (0..=PEERS).map(|i| f.node(i).total()).collect();
            (t.iter().all(|&x| x >= total), t)
        },
    );
    wait_until(
        "asker connected to every peer",
        Duration::from_secs(120),
        || {
            let c = f.node(0).connected().len();
            (c >= PEERS, c)
        },
    );
    println!("library: {total} records on each of {} nodes", PEERS + 1);

    // Warm-up (connections, caches), not measured.
    run(&f, 10, 2000);
    let (lat, st) = run(&f, queries, 2000);
    report("10 peers up (deadline 2000 ms)", &lat);
    println!("  statuses seen: {}", st.join(" "));

    // One dead peer, one slow (stopped, still connected) peer.
    f.stop_node(PEERS);
    let slow = pid_of(&f.members[PEERS - 1].dir);
    unsafe { libc::kill(slow, libc::SIGSTOP) };
    let n = (queries / 4).max(20);
    let (lat, st) = run(&f, n, deadline);
    report(
        &format!("1 peer dead + 1 peer stopped (deadline {deadline} ms)"),
        &lat,
    );
    println!("  statuses seen: {}", st.join(" "));
    println!(
        "  p99 - deadline = {:.1} ms",
        percentile(&lat, 0.99) - deadline as f64
    );
    unsafe { libc::kill(slow, libc::SIGCONT) };
}
