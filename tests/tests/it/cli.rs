//! The CLI round trip on real data dirs: init → publish/import → export → verify,
//! import error reports, withdrawal, restart persistence, the store rule.

use std::io::Write;

use techmesh_tests::{cli, demo_data};

#[test]
fn init_creates_private_keys_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("n");
    cli(
        &d,
        &[
            "init",
            "--name",
            "Hubei",
            "--country",
            "CN",
            "--region",
            "CN-HB",
        ],
    )
    .ok();
    for f in ["keys/publisher.key", "keys/libp2p.key", "api.token"] {
        let mode = std::fs::metadata(d.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f} has mode {mode:o}");
    }
    let key = std::fs::read(d.join("keys/publisher.key")).unwrap();
    let again = cli(&d, &["init", "--name", "X"]);
    assert_ne!(again.code, 0);
    assert!(
        again.stderr.contains("already holds a techmesh node"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read(d.join("keys/publisher.key")).unwrap(), key);
    let id = cli(&d, &["id"]).ok().json();
    assert_eq!(id["publisher"].as_str().unwrap().len(), 64);
    assert!(id["peer_id"].as_str().unwrap().starts_with("12D3KooW"));
    // A bad country is refused before anything is written.
    let bad = cli(&tmp.path().join("m"), &["init", "--country", "China"]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("node.country") && bad.stderr.contains("\"China\""),
        "{}",
        bad.stderr
    );
    assert!(!tmp.path().join("m/keys").exists());
}

#[test]
fn data_dir_comes_from_the_environment_too() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("env");
    let out = std::process::Command::new(techmesh_tests::bin())
        .args(["init", "--name", "E"])
        .env("TECHMESH_DATA_DIR", &d)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(d.join("node.toml").exists());
}

#[test]
fn broken_config_names_file_line_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("n");
    cli(&d, &["init"]).ok();
    let toml = std::fs::read_to_string(d.join("node.toml")).unwrap();
    std::fs::write(
        d.join("node.toml"),
        toml.replace("cache_mb = 64", "cache_mb = 64\ncache_size = 1"),
    )
    .unwrap();
    let r = cli(&d, &["list"]);
    assert_ne!(r.code, 0);
    let line = toml
        .lines()
        .position(|l| l.starts_with("cache_mb"))
        .unwrap()
        + 2;
    assert!(
        r.stderr.contains(&format!(
            "node.toml:{line}:1: cache_size: unknown field `cache_size`"
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn round_trip_publish_import_export_verify_on_a_second_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    cli(&a, &["init", "--country", "CN"]).ok();
    let body = tmp.path().join("one.json");
    std::fs::write(&body, crate::entry("rt-0001", "international").to_string()).unwrap();
    let published = cli(&a, &["publish", body.to_str().unwrap()]).ok();
    let stored: serde_json::Value =
        serde_json::from_str(published.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(stored["status"], "inserted");
    assert_eq!(stored["seq"], 1);
    assert_eq!(stored["hash"].as_str().unwrap().len(), 64);
    cli(
        &a,
        &["import", demo_data("entries-hubei.jsonl").to_str().unwrap()],
    )
    .ok();
    let got = cli(&a, &["get", "rt-0001"]).ok().json();
    assert_eq!(got["hash"], stored["hash"]);
    assert_eq!(got["record"]["body"]["local_id"], "rt-0001");
    // Withdraw one and export everything, tombstone included.
    cli(&a, &["withdraw", "entry/rt-0001"]).ok();
    let listed = cli(&a, &["list", "--kind", "entry"]).ok().stdout;
    assert!(
        !listed.contains("rt-0001"),
        "withdrawn entry still listed:\n{listed}"
    );
    assert!(cli(&a, &["list", "--all"])
        .ok()
        .stdout
        .contains("(withdrawn entry)"));
    let export = tmp.path().join("export.jsonl");
    cli(&a, &["export", export.to_str().unwrap()]).ok();
    let lines = std::fs::read_to_string(&export).unwrap().lines().count();
    assert_eq!(lines, 1 + 12); // rt-0001 (now its tombstone) + the 12 Hubei entries
                               // Verify from a second data dir, and import the signed records there.
    let b = tmp.path().join("b");
    cli(&b, &["init", "--country", "KE"]).ok();
    let v = cli(&b, &["verify", export.to_str().unwrap()]).ok();
    assert!(
        v.stdout.contains(&format!("{lines} valid, 0 invalid")),
        "{}",
        v.stdout
    );
    // b does not trust a: the signed records are refused by policy, nothing stored.
    let refused = cli(&b, &["import", export.to_str().unwrap()]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("not in the trust list"),
        "{}",
        refused.stderr
    );
    assert!(cli(&b, &["list", "--all"])
        .ok()
        .stdout
        .contains("0 record(s)"));
    // A tampered export fails verification with the line named.
    let text = std::fs::read_to_string(&export).unwrap();
    let tampered = tmp.path().join("tampered.jsonl");
    std::fs::write(&tampered, text.replacen("Hubei", "Hebei", 1)).unwrap();
    let bad = cli(&b, &["verify", tampered.to_str().unwrap()]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("tampered.jsonl:") && bad.stderr.contains("signature does not verify"),
        "{}",
        bad.stderr
    );
}

#[test]
fn import_reports_every_bad_line_and_is_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("n");
    cli(&d, &["init"]).ok();
    let file = tmp.path().join("mixed.jsonl");
    let mut f = std::fs::File::create(&file).unwrap();
    let mut bad_code = crate::entry("imp-2", "federation");
    bad_code["classifications"][0]["code"] = "H01M/".into();
    let mut no_title = crate::entry("imp-4", "federation");
    no_title["title"] = serde_json::json!({});
    writeln!(f, "{}", crate::entry("imp-1", "federation")).unwrap();
    writeln!(f, "{bad_code}").unwrap();
    writeln!(f, "{{not json").unwrap();
    writeln!(f, "{no_title}").unwrap();
    writeln!(f, "{}", crate::entry("imp-1", "national")).unwrap();
    writeln!(f, "{}", crate::entry("imp-6", "federation")).unwrap();
    drop(f);
    let r = cli(&d, &["import", file.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    let e = &r.stderr;
    assert!(
        e.contains("mixed.jsonl:2: classifications[0].code: \"H01M/\" is not an IPC code"),
        "{e}"
    );
    assert!(e.contains("mixed.jsonl:3: not JSON"), "{e}");
    assert!(
        e.contains("mixed.jsonl:4: title: needs at least one language"),
        "{e}"
    );
    assert!(
        e.contains("mixed.jsonl:5: local_id: \"imp-1\" is already used on line 1"),
        "{e}"
    );
    assert!(
        e.contains("nothing imported: 4 of 6 line(s) invalid"),
        "{e}"
    );
    assert!(cli(&d, &["list"]).ok().stdout.contains("0 record(s)"));
    let r = cli(&d, &["import", "--skip-invalid", file.to_str().unwrap()]).ok();
    assert!(
        r.stderr.contains("imported 2 record(s)") && r.stderr.contains("skipped 4 invalid line(s)"),
        "{}",
        r.stderr
    );
    let listed = cli(&d, &["list"]).ok().stdout;
    assert!(
        listed.contains("imp-1") && listed.contains("imp-6") && listed.contains("2 record(s)"),
        "{listed}"
    );
}

#[test]
fn store_survives_restart_and_a_second_process_uses_the_api() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("n");
    cli(&d, &["init"]).ok();
    cli(
        &d,
        &[
            "import",
            demo_data("entries-sichuan.jsonl").to_str().unwrap(),
        ],
    )
    .ok();
    let before = cli(&d, &["list", "--json"]).ok().stdout;
    // A running node holds the store; the CLI talks to it instead of fighting the lock.
    let mut node = techmesh_tests::Node::start("n", &d, techmesh_tests::free_port());
    let during = cli(&d, &["list", "--json"]).ok().stdout;
    assert_eq!(before, during);
    let body = tmp.path().join("one.json");
    std::fs::write(&body, crate::entry("live-1", "federation").to_string()).unwrap();
    let p = cli(&d, &["publish", body.to_str().unwrap()]).ok();
    assert!(p.stdout.contains("\"status\":\"inserted\""), "{}", p.stdout);
    node.stop();
    let after = cli(&d, &["list", "--json"]).ok().stdout;
    assert_eq!(after.lines().count(), before.lines().count() + 1);
    assert!(after.contains("live-1"));
    assert!(
        !d.join("api.addr").exists(),
        "api.addr must be removed on clean shutdown"
    );
}

/// An import is one atomic, flushed batch: SIGKILL at any moment leaves either all
/// of it or none of it, and the store checks clean after every crash.
#[test]
fn killed_imports_are_all_or_nothing_and_the_store_checks_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("n");
    cli(&d, &["init"]).ok();
    let file = tmp.path().join("big.jsonl");
    let mut f = std::fs::File::create(&file).unwrap();
    for i in 0..1500 {
        writeln!(f, "{}", crate::entry(&format!("bulk-{i:05}"), "federation")).unwrap();
    }
    drop(f);
    // Measure one full import in a scratch dir to spread the kills over its length.
    let scratch = tmp.path().join("scratch");
    cli(&scratch, &["init"]).ok();
    let t0 = std::time::Instant::now();
    cli(&scratch, &["import", file.to_str().unwrap()]).ok();
    let full = t0.elapsed();
    let mut completed = 0;
    for k in 0..8u32 {
        let mut child = std::process::Command::new(techmesh_tests::bin())
            .arg("--data-dir")
            .arg(&d)
            .args(["import", "--kind", "entry", file.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(f64::from(k) / 8.0 + 0.05));
        unsafe {
            libc::kill(child.id() as i32, libc::SIGKILL);
        }
        let status = child.wait().unwrap();
        let check = cli(&d, &["check"]);
        assert_eq!(
            check.code, 0,
            "store inconsistent after kill {k}:\n{}",
            check.stdout
        );
        // Every import signs the same 1500 ids with the next 1500 seqs: after any
        // kill, all current records must come from one and the same import.
        let seqs: Vec<u64> = cli(&d, &["list", "--json"])
            .ok()
            .stdout
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(
            seqs.is_empty() || seqs.len() == 1500,
            "partial import after kill {k}: {} records",
            seqs.len()
        );
        let generations: std::collections::BTreeSet<u64> =
            seqs.iter().map(|s| (s - 1) / 1500).collect();
        assert!(
            generations.len() <= 1,
            "records of different imports mixed after kill {k} ({status:?}): {generations:?}"
        );
        if status.success() {
            completed += 1;
        }
    }
    // Some kills land after the import finished; the loop must also have caught some mid-way.
    assert!(
        completed < 8,
        "every import finished before its kill: the test proved nothing"
    );
}
