//! Helpers shared by the benchmark binaries (each bench is its own crate and
//! includes this module): environment knobs, the scratch directory, pinning to one
//! core, pass/miss labels, and the benchmark entry body.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;
use techmesh_protocol::body::{self, Body, Kind};
use techmesh_protocol::vectors::sample_entry;

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn bench_dir() -> PathBuf {
    let dir = std::env::var_os("TECHMESH_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&dir).expect("create the bench dir");
    dir
}

/// Re-run this process under `taskset` on one core (the last one), once, so that
/// everything it measures, sled's own threads included, shares a single core.
pub fn pin_to_one_core() {
    if std::env::var_os("TECHMESH_BENCH_PINNED").is_some()
        || std::env::var_os("TECHMESH_BENCH_NO_PIN").is_some()
    {
        let pinned = std::env::var_os("TECHMESH_BENCH_PINNED");
        println!(
            "cpu: {}",
            pinned.map_or("not pinned".into(), |c| format!(
                "pinned to core {}",
                c.to_string_lossy()
            ))
        );
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let core = (cores - 1).to_string();
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let status = std::process::Command::new("taskset")
        .arg("-c")
        .arg(&core)
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env("TECHMESH_BENCH_PINNED", &core)
        .status();
    match status {
        Ok(s) => std::process::exit(s.code().unwrap_or(1)),
        Err(e) => println!("cpu: not pinned (taskset: {e})"),
    }
}

pub fn pass(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "MISS"
    }
}

/// Entry number `i` of the benchmarks: a realistic ~1 KiB offer, distinct per `i`.
/// Realistic entry bodies: the sample offer with its own local id, title, summary,
/// classification and target countries.
pub fn entry_body(i: u64) -> Body {
    const CLASSES: [(&str, &str); 4] = [
        ("H01M 10/0525", "C3841"),
        ("H01M 4/38", "C3841"),
        ("H02J 7/00", "C3849"),
        ("B60L 58/12", "C3670"),
    ];
    const COUNTRIES: [&str; 5] = ["KE", "EG", "NG", "KZ", "ET"];
    let mut v = sample_entry();
    let (ipc, gbt) = CLASSES[(i % 4) as usize];
    v["local_id"] = Value::from(format!("bench-{i:08}"));
    v["title"]["en"] = Value::from(format!(
        "High-safety Si/C-anode lithium-ion cell, variant {i}"
    ));
    v["title"]["zh"] = Value::from(format!("高安全硅碳负极锂离子电池（型号 {i}）"));
    v["summary"]["en"] = Value::from(format!(
        "Silicon-carbon composite anode, over {} cycles at 1C; pilot line available.",
        2000 + i % 997
    ));
    v["classifications"][0]["code"] = Value::from(ipc);
    v["classifications"][1]["code"] = Value::from(gbt);
    v["target_countries"] = Value::from(vec![
        COUNTRIES[(i % 5) as usize],
        COUNTRIES[((i + 2) % 5) as usize],
    ]);
    body::prepare(Kind::Entry, &v).unwrap_or_else(|e| panic!("bench entry {i}: {e}"))
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`), 0 if unreadable.
pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
