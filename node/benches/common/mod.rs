//! Helpers shared by the benchmark binaries (each bench is its own crate and
//! includes this module): environment knobs, the scratch directory, pinning to one
//! core, pass/miss labels.
#![allow(dead_code)]

use std::path::PathBuf;

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
