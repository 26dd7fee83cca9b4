//! Crash consistency, short variant of `tests/benches/crash.rs` for CI (issue 8,
//! item 1): SIGKILL a node while it imports and publishes, and while it catches up
//! by sync; after every kill `techmesh check` passes on the stopped data dir, nothing
//! acknowledged is missing, and the node catches up. Kills are triggered by events
//! (acknowledged publishes, the store count), never by timers.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use techmesh_protocol::record::Record;
use techmesh_tests::{
    bin, cli, free_port, publish_until_stopped, wait_until, Acked, Federation, Node, Spec, DEADLINE,
};

/// Kills of each part (the benchmark does 100 of each).
const KILLS: usize = 5;
/// Entries of the imported file, and of node A in the sync part.
const RECORDS: usize = 1500;
/// A catch-up of RECORDS in a debug build on a loaded 2-core machine.
const CATCH_UP_DEADLINE: Duration = Duration::from_secs(600);

fn write_jsonl(path: &Path, n: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        writeln!(f, "{}", crate::entry(&format!("imp-{i:05}"), "federation")).unwrap();
    }
    f.flush().unwrap();
}

/// Current records of a stopped data dir: full id → (hash, seq).
fn stored(dir: &Path) -> HashMap<String, (String, u64)> {
    cli(dir, &["list", "--json"])
        .ok()
        .stdout
        .lines()
        .map(|l| {
            let r = Record::decode_trusted(l.as_bytes()).expect("list prints records");
            (r.identity().to_string(), (r.hash().to_hex(), r.seq))
        })
        .collect()
}

fn assert_checks_clean(dir: &Path, when: &str) {
    let run = cli(dir, &["check"]);
    assert_eq!(
        run.code, 0,
        "techmesh check failed {when}:\n{}{}",
        run.stdout, run.stderr
    );
}

/// Acknowledged publishes (id, hash, seq of every 200 answer).
type AckedLog = Arc<Mutex<Vec<Acked>>>;

/// Publish single entries through the API until `stop` or the node is gone.
fn publish_loop(
    node: &Node,
    round: usize,
    acked: AckedLog,
    count: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let api = node.api.clone();
    let token = std::fs::read_to_string(node.dir.join("api.token"))
        .unwrap()
        .trim()
        .to_string();
    std::thread::spawn(move || {
        publish_until_stopped(
            &api,
            &token,
            Duration::from_secs(60),
            &stop,
            |i| crate::entry(&format!("api-{round}-{i}"), "federation"),
            |a| {
                acked.lock().unwrap().push(a);
                count.fetch_add(1, Ordering::SeqCst);
            },
        )
    })
}

#[test]
fn killed_while_importing_and_publishing_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("n");
    cli(&dir, &["init"]).ok();
    let file = tmp.path().join("big.jsonl");
    write_jsonl(&file, RECORDS);
    let port = free_port();
    let mut node = Node::start("n", &dir, port);
    let import_ids: Vec<String> = (0..RECORDS)
        .map(|i| format!("{}/entry/imp-{i:05}", node.publisher))
        .collect();
    let acked: AckedLog = Arc::default();
    let mut import_acked = false;
    for k in 0..KILLS {
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicUsize::new(0));
        let publisher = publish_loop(&node, k, acked.clone(), count.clone(), stop.clone());
        let mut import = Command::new(bin())
            .arg("--data-dir")
            .arg(&dir)
            .args(["import", "--kind", "entry"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill after a different number of acknowledged publishes each round, while
        // the import is in flight or just done.
        wait_until("publishes acknowledged", DEADLINE, || {
            let n = count.load(Ordering::SeqCst);
            (n > 2 * k, n)
        });
        node.kill();
        stop.store(true, Ordering::SeqCst);
        import_acked |= import.wait().unwrap().success();
        publisher.join().unwrap();
        assert_checks_clean(&dir, &format!("after kill {k}"));
        let held = stored(&dir);
        for Acked { id, hash, .. } in acked.lock().unwrap().iter() {
            assert_eq!(
                held.get(id).map(|(h, _)| h),
                Some(hash),
                "acknowledged {id} lost or changed after kill {k}"
            );
        }
        // An import is all-or-nothing, and present once it was acknowledged.
        let seqs: Vec<u64> = import_ids
            .iter()
            .filter_map(|id| held.get(id))
            .map(|(_, s)| *s)
            .collect();
        if import_acked {
            assert_eq!(
                seqs.len(),
                RECORDS,
                "acknowledged import lost after kill {k}"
            );
        }
        if let (Some(lo), Some(hi)) = (seqs.iter().min(), seqs.iter().max()) {
            assert_eq!(
                (hi - lo + 1) as usize,
                seqs.len(),
                "import records of different imports after kill {k}"
            );
        }
        node = Node::start("n", &dir, port);
    }
    // No acknowledged seq was handed out twice across the crashes.
    let acked = acked.lock().unwrap();
    let distinct: BTreeSet<u64> = acked.iter().map(|a| a.seq).collect();
    assert_eq!(
        distinct.len(),
        acked.len(),
        "a seq was reused after a crash"
    );
    assert!(
        acked.len() > KILLS,
        "{} publishes acknowledged",
        acked.len()
    );
}

#[test]
fn killed_while_catching_up_by_sync_converges() {
    let mut f = Federation::init(&[Spec::new("a", "CN"), Spec::new("b", "CN")], &[(0, 1)]);
    let file = f.members[0].dir.join("library.jsonl");
    write_jsonl(&file, RECORDS);
    let a_dir = f.members[0].dir.clone();
    let b_dir = f.members[1].dir.clone();
    cli(
        &a_dir,
        &["import", "--kind", "entry", file.to_str().unwrap()],
    )
    .ok();
    f.start_node(0);
    let target = f.node(0).digest();
    f.start_node(1);
    for k in 1..=KILLS {
        // Kill B as its store passes k/(KILLS+1) of A's records.
        let threshold = (RECORDS * k / (KILLS + 1)) as u64;
        let seen = wait_until("B catching up", CATCH_UP_DEADLINE, || {
            let t = f.node(1).total();
            (t >= threshold, t)
        });
        f.node_mut(1).kill();
        f.nodes[1] = None;
        assert_checks_clean(&b_dir, &format!("after sync kill {k} (B held {seen})"));
        f.start_node(1);
    }
    wait_until("B converged to A's digest", CATCH_UP_DEADLINE, || {
        let d = f.node(1).digest();
        (d == target, d)
    });
    assert_eq!(f.node(1).total(), RECORDS as u64);
}
