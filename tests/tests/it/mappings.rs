//! Standard mappings and mutual recognition: a node uses a mapping set only when the
//! trust list recognises its publisher for that scheme pair; recognised authorities
//! that disagree are resolved by trust-list order and listed; SSSOM export is valid
//! for the reference SSSOM tool.

use std::path::Path;

use serde_json::Value;
use techmesh_tests::{cli, demo_data};

/// Sign a mapping set (SSSOM or JSON file) with `dir`'s key and return its signed export line(s).
fn signed_sets(dir: &Path, files: &[&Path], out: &Path) -> String {
    for f in files {
        cli(dir, &["mappings", "import", f.to_str().unwrap()]).ok();
    }
    cli(dir, &["export", out.to_str().unwrap()]).ok();
    std::fs::read_to_string(out).unwrap()
}

fn member(name: &str, dir: &Path, mappings: &str) -> String {
    let id = cli(dir, &["id"]).ok().json();
    format!(
        "[[member]]\nname = {name:?}\ncountry = \"CN\"\npublisher_keys = [{:?}]\nroles = [\"publish_entries\"]\npublish_mappings = [{mappings}]\n\n",
        id["publisher"].as_str().unwrap()
    )
}

#[test]
fn recognition_conflicts_translation_chains_and_sssom_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n);
    for n in ["node", "authority", "second", "rogue"] {
        cli(&p(n), &["init", "--name", n]).ok();
    }
    // The node recognises "authority" first, then "second", for GB/T 4754 → NACE;
    // "authority" also for NACE → ISIC; "rogue" may publish but is recognised for nothing.
    let trust = member(
        "authority",
        &p("authority"),
        "\"gbt4754->nace2\", \"nace2->isic4\"",
    ) + &member("second", &p("second"), "\"gbt4754->nace2\"")
        + &member("rogue", &p("rogue"), "");
    std::fs::write(p("node").join("trust.toml"), trust).unwrap();

    let sssom = demo_data("sssom/gbt4754-nace2.sssom.tsv");
    let nace_isic = demo_data("mappings-nace2-isic4.json");
    let a = signed_sets(&p("authority"), &[&sssom, &nace_isic], &p("a.jsonl"));
    // "second" says C3841 is only *related* to 27.20 (a disagreement).
    let disagree = p("disagree.json");
    std::fs::write(
        &disagree,
        r#"{"local_id": "second-gbt-nace", "title": {"en": "second opinion"}, "subject_scheme": "gbt4754", "object_scheme": "nace2",
            "mappings": [{"subject": "C3841", "predicate": "related", "object": "27.20", "confidence": 0.5}]}"#,
    )
    .unwrap();
    let b = signed_sets(&p("second"), &[&disagree], &p("b.jsonl"));
    // "rogue" claims C3841 is exactly ISIC 9999... through its own set.
    let rogue = p("rogue.json");
    std::fs::write(
        &rogue,
        r#"{"local_id": "rogue-gbt-isic", "title": {"en": "rogue"}, "subject_scheme": "gbt4754", "object_scheme": "isic4",
            "mappings": [{"subject": "C3841", "predicate": "exact", "object": "9900"}]}"#,
    )
    .unwrap();
    let r = signed_sets(&p("rogue"), &[&rogue], &p("r.jsonl"));
    let all = p("all.jsonl");
    std::fs::write(&all, format!("{a}{b}{r}")).unwrap();
    cli(&p("node"), &["import", all.to_str().unwrap()]).ok();

    // The real chain: GB/T 4754 C3841 → NACE 27.20 → ISIC 2720, broad, confidence the product.
    let t = cli(
        &p("node"),
        &["translate", "gbt4754:C3841", "--to", "isic4", "--json"],
    )
    .ok()
    .json();
    let results = t["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "the rogue set must not be used: {t}");
    assert_eq!(results[0]["code"], "2720");
    assert_eq!(results[0]["predicate"], "broad");
    let chain = results[0]["chain"].as_array().unwrap();
    assert_eq!(chain.len(), 2);
    let product: f64 = chain
        .iter()
        .map(|s| s["confidence"].as_f64().unwrap())
        .product();
    assert!((results[0]["confidence"].as_f64().unwrap() - product).abs() < 1e-9);
    assert!(
        (product - 0.9).abs() < 1e-9,
        "0.9 (C3841 broad 27.20) × 1.0 (27.20 exact 2720)"
    );
    // The human form shows the chain.
    let human = cli(&p("node"), &["translate", "gbt4754:C3841", "--to", "isic4"])
        .ok()
        .stdout;
    assert!(
        human.contains("gbt4754:C3841 --broad--> nace2:27.20")
            && human.contains("nace2:27.20 --exact--> isic4:2720"),
        "{human}"
    );

    // Recognised, unrecognised and conflicts are visible.
    let m: Value = cli(&p("node"), &["mappings", "list"]).ok().json();
    let ids = |k: &str| -> Vec<String> {
        m[k].as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        ids("unrecognised")
            .iter()
            .any(|i| i.ends_with("/mapping_set/rogue-gbt-isic")),
        "{m}"
    );
    assert!(
        ids("recognised")
            .iter()
            .any(|i| i.ends_with("/mapping_set/second-gbt-nace")),
        "{m}"
    );
    let conflicts = m["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{m}");
    let c = conflicts[0].to_string();
    assert!(
        c.contains("C3841") && c.contains("27.20") && c.contains("related"),
        "{c}"
    );

    // SSSOM export parses and validates with the reference tool.
    let out = p("sssom-out");
    cli(&p("node"), &["mappings", "export", out.to_str().unwrap()]).ok();
    let files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    assert_eq!(files.len(), 4);
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pyenv/bin/python");
    assert!(
        py.exists(),
        "{} missing: run scripts/test.sh, which installs the reference SSSOM tool",
        py.display()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/check_sssom.py");
    let check = std::process::Command::new(py)
        .arg(script)
        .args(&files)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&check.stdout).to_string()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(
        check.status.success(),
        "reference SSSOM tool refused the export:\n{text}"
    );
    assert!(text.contains("4 passed, 0 failed"), "{text}");
}

#[test]
fn a_bad_sssom_file_publishes_nothing_and_names_its_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("n");
    cli(&d, &["init"]).ok();
    let r = cli(
        &d,
        &[
            "mappings",
            "import",
            demo_data("sssom/broken.sssom.tsv").to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("broken.sssom.tsv:") && r.stderr.contains("nothing published"),
        "{}",
        r.stderr
    );
    assert!(cli(&d, &["list", "--all"])
        .ok()
        .stdout
        .contains("0 record(s)"));
}
