//! Store benchmark: a fresh `SledStore` (64 MiB sled cache, the node.toml default)
//! filled with 1,000,000 signed entry records through `Store::apply`, 1000 per atomic,
//! flushed batch (no verification: this measures storage). Reports the fill rate,
//! peak RSS, disk bytes ÷ raw record bytes, the reopen time (the index-log replay) and
//! what the in-memory index costs per record.
//!
//! `cargo bench -p techmesh-node --bench store_1m` (or `scripts/bench.sh store`).
//! Environment: `TECHMESH_BENCH_RECORDS` (default 1000000), `TECHMESH_BENCH_DIR`
//! (default the target's tmp dir), `TECHMESH_BENCH_KEEP=1` (keep the store dir),
//! `TECHMESH_BENCH_CACHE_MB` (the page cache, default 64),
//! `TECHMESH_BENCH_NO_PIN=1` (do not pin the process to one core with `taskset`),
//! `TECHMESH_BENCH_SIGN_ONLY=1` (write the signed-records file below and stop).
//!
//! Signing is not what is measured (it took 869 s of a 1 M run): the signed records are
//! written once, on both cores, to `signed-<n>.records` in the bench dir (a u32 length
//! before each record's bytes) and read back from there, one batch at a time, by every
//! later run of at most that count, on a reader thread ahead of the fill. Delete the
//! file to sign afresh.

mod common;
use common::*;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use techmesh_node::ingest::now;
use techmesh_node::store::{SledStore, Store};
use techmesh_protocol::record::{Identity, Keypair, Record};
use techmesh_protocol::time::Timestamp;

const BATCH: usize = 1000;
/// The node.toml default page cache (`TECHMESH_BENCH_CACHE_MB` overrides it).
const CACHE_MB: u64 = 64;
const MIB: f64 = 1024.0 * 1024.0;

fn main() {
    let n = env_usize("TECHMESH_BENCH_RECORDS", 1_000_000).max(1);
    let cache_mb = env_usize("TECHMESH_BENCH_CACHE_MB", CACHE_MB as usize) as u64;
    if let (Some(path), Some(id)) = (std::env::var_os(REOPEN_PATH), std::env::var(REOPEN_ID).ok()) {
        // The child of reopen_in_child.
        let id = Identity::parse(&id).expect("an identity");
        let r = reopen(Path::new(&path), cache_mb, &id, n);
        println!(
            "REOPEN {} {} {} {} {} {} {}",
            r.open_s, r.get_s, r.counts_s, r.sync_items_s, r.items, r.growth_mib, r.hwm_mib
        );
        return;
    }
    // Before pinning: signing uses every core, and only once per record count.
    let signed_path = signed_records(n);
    if std::env::var_os("TECHMESH_BENCH_SIGN_ONLY").is_some() {
        return;
    }
    pin_to_one_core();
    // A reader thread reads and decodes the signed records ahead of the fill, so its
    // disk waits overlap the store's fsyncs (the main thread waits only when it is
    // ahead: that wait is the "reading" time below).
    let batches = {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Record>>(4);
        std::thread::spawn(move || {
            let mut signed = BufReader::with_capacity(
                1 << 20,
                std::fs::File::open(&signed_path).expect("open the signed records"),
            );
            let mut left = n;
            while left > 0 {
                let size = BATCH.min(left);
                let batch: Vec<Record> = (0..size).map(|_| read_record(&mut signed)).collect();
                left -= size;
                if tx.send(batch).is_err() {
                    return;
                }
            }
        });
        rx
    };
    let tmp = tempfile::Builder::new()
        .prefix("techmesh-bench-store-")
        .tempdir_in(bench_dir())
        .expect("temp dir");
    let path = tmp.path().join("store");
    println!("== store: fill a fresh SledStore ({cache_mb} MiB cache) with {n} records, {BATCH} per Store::apply");
    println!("store dir: {}", path.display());
    println!(
        "RSS before the store is opened: {:.0} MiB",
        status_kib("VmRSS") as f64 / 1024.0
    );

    let store = SledStore::open(&path, cache_mb).expect("open store");
    let mut raw_bytes = 0u64;
    let mut apply_time = Duration::ZERO;
    let mut sign_time = Duration::ZERO;
    let mut window = (Duration::ZERO, 0usize);
    let progress_every = (n / 10).max(BATCH);
    let wall = Instant::now();
    let mut done = 0usize;
    let mut mid_identity: Option<Identity> = None;
    while done < n {
        let size = BATCH.min(n - done);
        let t = Instant::now();
        let batch = batches.recv().expect("the reader thread's next batch");
        assert_eq!(batch.len(), size);
        sign_time += t.elapsed();
        raw_bytes += batch.iter().map(|r| r.bytes().len() as u64).sum::<u64>();
        if done <= n / 2 && n / 2 < done + size {
            mid_identity = Some(batch[n / 2 - done].identity());
        }
        let t = Instant::now();
        let out = store.apply(&batch).expect("apply");
        let took = t.elapsed();
        apply_time += took;
        window.0 += took;
        window.1 += size;
        assert!(out.iter().all(|o| o.applied.is_new()));
        done += size;
        if done.is_multiple_of(progress_every) || done == n {
            eprintln!(
                "  {done:>8} records: apply {:>6.0}/s over the last {}, RSS {:.0} MiB, peak {:.0} MiB, disk {:.0} MiB, {:.0} s elapsed",
                window.1 as f64 / window.0.as_secs_f64(),
                window.1,
                status_kib("VmRSS") as f64 / 1024.0,
                status_kib("VmHWM") as f64 / 1024.0,
                dir_bytes(&path).0 as f64 / MIB,
                wall.elapsed().as_secs_f64(),
            );
            window = (Duration::ZERO, 0);
        }
    }
    store.flush().expect("flush");
    let fill_wall = wall.elapsed().as_secs_f64();
    let fill_rate = n as f64 / apply_time.as_secs_f64();
    let peak_fill = status_kib("VmHWM") as f64 / 1024.0;
    let rss_fill = status_kib("VmRSS") as f64 / 1024.0;
    drop(store);
    let (disk_apparent, disk_allocated) = dir_bytes(&path);
    let (segment_bytes, _) = dir_bytes(&path.join("records"));

    // Reopen, in this process (which still holds what the fill's allocations left
    // with the allocator) and in a fresh one (what a node opening the store costs).
    let id = mid_identity.expect("middle identity");
    let same = reopen(&path, cache_mb, &id, n);
    let fresh = reopen_in_child(&path, cache_mb, &id, n);
    let peak_reopen = fresh.hwm_mib;

    let (index_bytes, _) = dir_bytes(&path.join("index"));
    let peak_end = status_kib("VmHWM") as f64 / 1024.0;

    let raw_mib = raw_bytes as f64 / MIB;
    let disk_ratio = disk_apparent as f64 / raw_bytes as f64;
    println!();
    println!("| figure | value | target | |");
    println!("|---|---:|---:|---|");
    println!("| fill rate, Store::apply 1000/batch + flush | {fill_rate:.0} records/s | — | |");
    println!(
        "| fill wall time (waiting for the record reader {:.1} s + apply {:.1} s) | {:.1} s | — | |",
        sign_time.as_secs_f64(),
        apply_time.as_secs_f64(),
        fill_wall
    );
    println!(
        "| peak RSS (VmHWM) after the fill | {peak_fill:.0} MiB | ≤ 256 MiB | {} |",
        pass(peak_fill <= 256.0)
    );
    println!("| RSS after the fill | {rss_fill:.0} MiB | — | |");
    println!(
        "| peak RSS of a fresh process: reopen + get + counts + a sync-range scan | {peak_reopen:.0} MiB | ≤ 256 MiB | {} |",
        pass(peak_reopen <= 256.0)
    );
    println!(
        "| peak RSS of the fill's process after its own reopen (fill's freed memory still held) | {:.0} MiB | — | |",
        same.hwm_mib
    );
    println!(
        "| raw record bytes (sum of record lengths) | {raw_mib:.1} MiB ({} B/record) | | |",
        raw_bytes / n as u64
    );
    println!(
        "| store dir after flush (apparent / allocated) | {:.1} / {:.1} MiB | | |",
        disk_apparent as f64 / MIB,
        disk_allocated as f64 / MIB
    );
    println!(
        "| of which record segments (`records/`) / index log (`index/`) / sled | {:.1} / {:.1} / {:.1} MiB | | |",
        segment_bytes as f64 / MIB,
        index_bytes as f64 / MIB,
        (disk_apparent - segment_bytes - index_bytes) as f64 / MIB
    );
    println!(
        "| disk ÷ raw | {disk_ratio:.3} | ≤ 2.00 | {} |",
        pass(disk_ratio <= 2.0)
    );
    for (label, r) in [("fresh process", &fresh), ("same process", &same)] {
        println!(
            "| reopen ({label}): SledStore::open (index-log replay) | {:.3} s | ≤ 2 s | {} |",
            r.open_s,
            pass(r.open_s <= 2.0)
        );
        println!(
            "| reopen ({label}): open + first get | {:.3} s | ≤ 2 s | {} |",
            r.open_s + r.get_s,
            pass(r.open_s + r.get_s <= 2.0)
        );
        println!(
            "| reopen ({label}): open + first get + counts() | {:.3} s | — | |",
            r.open_s + r.get_s + r.counts_s
        );
        println!(
            "| reopen ({label}): sync_items of one 1/256 range ({} items) | {:.4} s | — | |",
            r.items, r.sync_items_s
        );
        println!(
            "| reopen ({label}): RSS growth of the open (the in-memory index) | {:.1} MiB = {:.0} B/record | (design budget ~150 B/record, not an issue target) | {} |",
            r.growth_mib,
            r.growth_mib * MIB / n as f64,
            if r.growth_mib * MIB / n as f64 <= 150.0 {
                "within budget"
            } else {
                "over budget"
            }
        );
    }
    println!(
        "| index log | {:.1} MiB = {:.0} B/record | — | |",
        index_bytes as f64 / MIB,
        index_bytes as f64 / n as f64
    );
    println!("peak RSS of the whole run: {peak_end:.0} MiB");
    println!();
    println!("RATIO disk ÷ raw = {disk_ratio:.3}");
    println!(
        "RATIO peak RSS ÷ 256 MiB = {:.2}",
        peak_fill.max(peak_reopen) / 256.0
    );
    println!(
        "RATIO reopen (open + first get) ÷ 2 s = {:.3}",
        (fresh.open_s + fresh.get_s) / 2.0
    );
    if std::env::var_os("TECHMESH_BENCH_KEEP").is_some() {
        let kept = tmp.keep();
        println!("kept {}", kept.display());
    }
}

const REOPEN_PATH: &str = "TECHMESH_BENCH_REOPEN_PATH";
const REOPEN_ID: &str = "TECHMESH_BENCH_REOPEN_ID";

/// What reopening the filled store cost.
struct Reopen {
    open_s: f64,
    get_s: f64,
    counts_s: f64,
    sync_items_s: f64,
    items: usize,
    /// RSS growth of `SledStore::open`.
    growth_mib: f64,
    /// VmHWM of the process at the end.
    hwm_mib: f64,
}

/// Open the store (replaying its index log), then a first get, counts() and one
/// 1/256 sync range.
fn reopen(path: &Path, cache_mb: u64, id: &Identity, n: usize) -> Reopen {
    let rss_before = status_kib("VmRSS") as f64 / 1024.0;
    let t = Instant::now();
    let store = SledStore::open(path, cache_mb).expect("reopen");
    let open_s = t.elapsed().as_secs_f64();
    let growth_mib = status_kib("VmRSS") as f64 / 1024.0 - rss_before;
    let t = Instant::now();
    let got = store.get(id).expect("get");
    let get_s = t.elapsed().as_secs_f64();
    assert!(got.is_some(), "the record {id} is found after reopen");
    let t = Instant::now();
    let counts = store.counts().expect("counts");
    let counts_s = t.elapsed().as_secs_f64();
    assert_eq!(counts.entry, n as u64);
    let t = Instant::now();
    let items = store.sync_items(&[0x5a]).expect("sync items").len();
    let sync_items_s = t.elapsed().as_secs_f64();
    Reopen {
        open_s,
        get_s,
        counts_s,
        sync_items_s,
        items,
        growth_mib,
        hwm_mib: status_kib("VmHWM") as f64 / 1024.0,
    }
}

/// [`reopen`] in a fresh process (this binary again, same core).
fn reopen_in_child(path: &Path, cache_mb: u64, id: &Identity, n: usize) -> Reopen {
    let out = std::process::Command::new(std::env::current_exe().expect("own path"))
        .env(REOPEN_PATH, path)
        .env(REOPEN_ID, id.to_string())
        .env("TECHMESH_BENCH_RECORDS", n.to_string())
        .env("TECHMESH_BENCH_CACHE_MB", cache_mb.to_string())
        .output()
        .expect("run the reopen child");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("REOPEN "))
        .unwrap_or_else(|| {
            panic!(
                "reopen child failed: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let f: Vec<f64> = line
        .split_whitespace()
        .map(|x| x.parse().expect("a figure"))
        .collect();
    Reopen {
        open_s: f[0],
        get_s: f[1],
        counts_s: f[2],
        sync_items_s: f[3],
        items: f[4] as usize,
        growth_mib: f[5],
        hwm_mib: f[6],
    }
}

/// The file of `n` signed bench records, signed now on every core if it is not there.
fn signed_records(n: usize) -> PathBuf {
    let path = bench_dir().join(format!("signed-{n}.records"));
    // Any file of at least n records will do (its first n are the same records).
    let larger = std::fs::read_dir(bench_dir()).ok().and_then(|dir| {
        dir.flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let m: usize = name
                    .strip_prefix("signed-")?
                    .strip_suffix(".records")?
                    .parse()
                    .ok()?;
                (m >= n).then_some((m, e.path()))
            })
            .min()
    });
    if let Some((m, found)) = larger {
        println!(
            "signed records: the first {n} of {} (reused)",
            found.display()
        );
        let _ = m;
        return found;
    }
    let kp = Keypair::from_seed(&[11u8; 32]);
    let issued_at = Timestamp(now().0 - 3600);
    let threads = std::thread::available_parallelism().map_or(1, |c| c.get());
    let partial = path.with_extension("partial");
    let mut out = BufWriter::new(std::fs::File::create(&partial).expect("create the records file"));
    let t = Instant::now();
    const CHUNK: usize = 20_000;
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        let per = (end - start).div_ceil(threads);
        let parts: Vec<Vec<Record>> = std::thread::scope(|s| {
            let handles: Vec<_> = (start..end)
                .step_by(per)
                .map(|from| {
                    let kp = &kp;
                    s.spawn(move || {
                        (from..(from + per).min(end))
                            .map(|i| {
                                kp.sign(i as u64 + 1, issued_at, entry_body(i as u64))
                                    .expect("sign")
                            })
                            .collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("signer"))
                .collect()
        });
        for r in parts.iter().flatten() {
            out.write_all(&(r.bytes().len() as u32).to_le_bytes())
                .expect("write");
            out.write_all(r.bytes()).expect("write");
        }
    }
    out.into_inner().expect("flush").sync_all().expect("sync");
    std::fs::rename(&partial, &path).expect("rename the records file");
    println!(
        "signed {n} records on {threads} threads in {:.1} s: {}",
        t.elapsed().as_secs_f64(),
        path.display()
    );
    path
}

fn read_record(from: &mut impl Read) -> Record {
    let mut len = [0u8; 4];
    from.read_exact(&mut len).expect("read the signed records");
    let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
    from.read_exact(&mut bytes)
        .expect("read the signed records");
    Record::decode_trusted(&bytes).expect("a signed record")
}

/// (apparent bytes, allocated bytes) of every file under `dir`.
fn dir_bytes(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut apparent = 0;
    let mut allocated = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                apparent += meta.len();
                allocated += meta.blocks() * 512;
            }
        }
    }
    (apparent, allocated)
}
