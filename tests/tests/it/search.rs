//! Local search, matchmaking and event agendas on the demo data
//! (scripts/demo-data): Chinese, English and French queries, hierarchy and mapping
//! expansion in filters, match explanations, agenda constraints; direct-store mode
//! and through a running node's API.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use techmesh_tests::{cli, demo_data};

const TODAY: &str = "2026-11-28";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A data dir holding every demo entry, both events and the three mapping sets
/// (published by this node, so recognised by it). Built once, copied per test.
fn demo_dir(tmp: &Path) -> PathBuf {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_keep, template) = TEMPLATE.get_or_init(|| {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("demo");
        cli(&d, &["init", "--name", "demo", "--country", "CN"]).ok();
        for f in [
            "entries-hubei.jsonl",
            "entries-guangdong.jsonl",
            "entries-sichuan.jsonl",
            "entries-africa.jsonl",
            "entries-kazakhstan.jsonl",
            "events.jsonl",
        ] {
            cli(&d, &["import", demo_data(f).to_str().unwrap()]).ok();
        }
        for f in [
            "mappings-gbt4754-nace2.json",
            "mappings-nace2-isic4.json",
            "mappings-ipc-wipo35.json",
        ] {
            cli(&d, &["mappings", "import", demo_data(f).to_str().unwrap()]).ok();
        }
        (t, d)
    });
    let d = tmp.join("demo");
    copy_dir(template, &d);
    d
}

fn search(d: &Path, args: &[&str]) -> Value {
    let mut a = vec!["search", "--json", "--today", TODAY];
    if !args.contains(&"--limit") {
        a.extend(["--limit", "100"]);
    }
    a.extend_from_slice(args);
    cli(d, &a).ok().json()
}

fn ids(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["local_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn chinese_english_and_french_queries() {
    let tmp = tempfile::tempdir().unwrap();
    let d = demo_dir(tmp.path());
    // Chinese: a two-character word finds longer text containing it (锂离子电池).
    for q in ["电池", "锂电"] {
        let v = search(&d, &[q, "--type", "offer"]);
        assert!(ids(&v).contains(&"hbtx-2026-0001".into()), "{q}: {v}");
    }
    // English stemming: "batteries" finds an offer that only says "battery".
    let v = search(&d, &["batteries", "--type", "offer"]);
    assert!(ids(&v).contains(&"hbtx-2026-0002".into()), "{v}");
    let text = serde_json::to_string(&v["results"][0])
        .unwrap()
        .to_lowercase();
    assert!(text.contains("batter"), "{text}");
    // French: stems and accents ("côtiers" / "cotier").
    let v = search(&d, &["dessalement solaire villages cotier"]);
    assert_eq!(ids(&v)[0], "cacic-2026-0105", "{v}");
    // No query at all: filters only, newest first, paged.
    let all = search(&d, &["--type", "request"]);
    let page = search(&d, &["--type", "request", "--limit", "5", "--offset", "5"]);
    assert_eq!(all["total"], page["total"]);
    assert_eq!(ids(&page), ids(&all)[5..10].to_vec());
}

#[test]
fn filters_expand_through_hierarchy_and_mappings() {
    let tmp = tempfile::tempdir().unwrap();
    let d = demo_dir(tmp.path());
    // Hierarchy: ipc:H01M finds H01M 10/0525 entries.
    let v = search(&d, &["--class", "ipc:H01M"]);
    let found = ids(&v);
    assert!(found.contains(&"hbtx-2026-0001".into()), "{v}");
    for r in v["results"].as_array().unwrap() {
        let m = &r["why"]["classification"];
        assert!(
            m["matched"].as_str().unwrap().starts_with("ipc:H01M"),
            "{m}"
        );
        assert!(
            ["exact", "hierarchy"].contains(&m["how"].as_str().unwrap()),
            "{m}"
        );
    }
    // The expired entry is left out unless asked for.
    assert!(!found.contains(&"hbtx-2024-0117".into()));
    let with_expired = search(&d, &["--class", "ipc:H01M", "--all"]);
    assert!(ids(&with_expired).contains(&"hbtx-2024-0117".into()));
    // Mapping chain: isic4:2720 finds gdtx-2026-0002 (only gbt4754 C3841) through
    // C3841 -broad-> nace2 27.20 -exact-> isic4 2720.
    let v = search(&d, &["--class", "isic4:2720", "--type", "offer"]);
    let r = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["local_id"] == "gdtx-2026-0002")
        .unwrap_or_else(|| panic!("gdtx-2026-0002 missing: {v}"));
    let m = &r["why"]["classification"];
    assert_eq!(m["how"], "mapping", "{m}");
    assert_eq!(m["matched"], "gbt4754:C3841");
    let chain = m["via"]["chain"].as_array().unwrap();
    assert_eq!(chain.len(), 2, "{m}");
    assert_eq!(chain[0]["object"], "27.20");
    assert_eq!(chain[1]["object"], "2720");
    assert!((m["confidence"].as_f64().unwrap() - 0.9).abs() < 1e-9);
    // Other filters: transfer mode, organisation country, target country, event.
    let v = search(&d, &["--country", "KZ", "--type", "request"]);
    assert!(ids(&v).iter().all(|i| i.starts_with("kz-")) && !ids(&v).is_empty());
    let v = search(&d, &["--event", "hbtx-kz-2027-online"]);
    let mut got = ids(&v);
    got.sort();
    assert_eq!(
        got,
        [
            "gdtx-2026-0004",
            "hbtx-2026-0004",
            "hbtx-2026-0005",
            "kz-2026-0102",
            "kz-2026-0103",
            "kz-2026-0104"
        ]
    );
    let v = search(&d, &["--min-trl", "trl-eu:8", "--type", "offer"]);
    for r in v["results"].as_array().unwrap() {
        assert!(r["why"]["maturity"]["trl"]
            .as_str()
            .unwrap()
            .starts_with("trl-eu:"));
    }
    // A bad filter is a clear error.
    let bad = cli(&d, &["search", "--class", "ipc"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("SCHEME:CODE"), "{}", bad.stderr);
}

fn match_json(d: &Path, id: &str) -> Value {
    cli(
        d,
        &[
            "match",
            id,
            "--json",
            "--today",
            TODAY,
            "--show-excluded",
            "--limit",
            "50",
        ],
    )
    .ok()
    .json()
}

fn result<'a>(v: &'a Value, id: &str) -> Option<&'a Value> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["local_id"] == id)
}

#[test]
fn match_explains_codes_chains_maturity_and_exclusions() {
    let tmp = tempfile::tempdir().unwrap();
    let d = demo_dir(tmp.path());
    // Pair #3: a Nigerian request classified only isic4 2720, the zh-only offer only
    // gbt4754 C3841 — connected by the mapping chain alone.
    let v = match_json(&d, "cacic-2026-0103");
    assert_eq!(v["looking_for"], "offer");
    assert_eq!(v["results"][0]["local_id"], "gdtx-2026-0002", "{v}");
    let x = &v["results"][0]["explanation"];
    let m = &x["classification"]["matches"][0];
    assert_eq!(m["wanted"], "isic4:2720");
    assert_eq!(m["matched"], "gbt4754:C3841");
    assert_eq!(m["via"]["predicate"], "broad");
    assert_eq!(m["via"]["chain"].as_array().unwrap().len(), 2);
    for part in [
        "classification",
        "text",
        "maturity",
        "transfer_modes",
        "country",
    ] {
        assert!(x[part]["contribution"].is_number(), "{part}: {x}");
    }
    assert_eq!(x["country"]["fits"], true);
    assert!(!x["transfer_modes"]["overlap"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(x["validity"]["valid_on"], TODAY);
    assert_eq!(v["results"][0]["signature_verified"], true);
    // The expired offer and the national-scope offer are excluded, with reasons.
    assert!(result(&v, "hbtx-2024-0117").is_none());
    let excluded: HashMap<String, String> = v["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["local_id"].as_str().unwrap().to_string(),
                e["excluded"].to_string(),
            )
        })
        .collect();
    assert!(excluded["hbtx-2024-0117"].contains("not valid"));
    assert!(excluded["sctx-2026-0003"].contains("national"));

    // Pair #1: cross-language (en/fr request, zh-only offer) through the IPC hierarchy.
    let v = match_json(&d, "cacic-2026-0101");
    let r = result(&v, "hbtx-2026-0001").unwrap_or_else(|| panic!("{v}"));
    let m = &r["explanation"]["classification"]["matches"][0];
    assert_eq!(m["wanted"], "ipc:H01M");
    assert_eq!(m["how"], "hierarchy");
    assert!(result(&v, "sctx-2026-0002").is_none(), "national scope");

    // Maturity: sctx-2026-0004 (trl-eu 4) is below cacic-2026-0102's minimum 7.
    let v = match_json(&d, "cacic-2026-0102");
    assert!(result(&v, "sctx-2026-0004").is_none());
    let r = result(&v, "gdtx-2026-0003").unwrap();
    assert_eq!(r["explanation"]["maturity"]["detail"]["status"], "fits");
    // Same scale (gbt22900 7 ≥ 6).
    let v = match_json(&d, "hbtx-2026-0102");
    let r = result(&v, "gdtx-2026-0008").unwrap();
    assert_eq!(r["explanation"]["maturity"]["detail"]["status"], "fits");

    // Pair #7: a close mapping, one hop (I6513 -close-> 62.01, 0.8), ranked first.
    let v = match_json(&d, "cacic-2026-0107");
    assert_eq!(v["results"][0]["local_id"], "gdtx-2026-0006", "{v}");
    let m = &v["results"][0]["explanation"]["classification"]["matches"][0];
    assert_eq!(m["via"]["predicate"], "close");
    assert!((m["confidence"].as_f64().unwrap() - 0.8).abs() < 1e-9);

    // Negative control: nothing maps to ferrochrome smelting.
    let v = match_json(&d, "kz-2026-0106");
    assert_eq!(v["total"], 0, "{v}");

    // Offers → requests.
    let v = match_json(&d, "gdtx-2026-0002");
    assert_eq!(v["looking_for"], "request");
    let got: Vec<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["local_id"].as_str().unwrap().to_string())
        .collect();
    assert!(got.contains(&"cacic-2026-0103".into()) && got.contains(&"kz-2026-0101".into()));

    // An inline request (not stored).
    let body = tmp.path().join("req.json");
    std::fs::write(
        &body,
        serde_json::json!({
            "local_id": "inline-1", "entry_type": "request",
            "title": {"fr": "Dessalement d'eau de mer par énergie solaire"},
            "summary": {"fr": "Unité d'osmose inverse solaire pour un village."},
            "classifications": [{"scheme": "ipc", "code": "C02F"}],
            "organisation": {"name": {"fr": "Test"}, "kind": "enterprise", "country": "SN"},
            "valid_from": "2026-09-01", "valid_until": "2027-09-01"
        })
        .to_string(),
    )
    .unwrap();
    let v = cli(
        &d,
        &[
            "match",
            "--entry",
            body.to_str().unwrap(),
            "--json",
            "--today",
            TODAY,
        ],
    )
    .ok()
    .json();
    assert_eq!(v["results"][0]["local_id"], "hbtx-2026-0007", "{v}");
}

fn check_agenda(v: &Value, k: usize) {
    let meetings = v["meetings"].as_array().unwrap();
    assert!(!meetings.is_empty(), "{v}");
    let mut per: HashMap<String, usize> = HashMap::new();
    let mut busy: HashSet<(String, u64)> = HashSet::new();
    for m in meetings {
        let slot = m["slot"].as_u64().unwrap();
        let (r, o) = (&m["request"], &m["offer"]);
        assert_ne!(
            r["organisation"]["name"], o["organisation"]["name"],
            "same organisation: {m}"
        );
        for side in [r, o] {
            let id = side["local_id"].as_str().unwrap().to_string();
            *per.entry(id.clone()).or_default() += 1;
            assert!(busy.insert((id, slot)), "double-booked: {m}");
        }
        let start = m["start"].as_str().unwrap();
        let end = m["end"].as_str().unwrap();
        let mins = |s: &str| {
            let (h, mm) = s.split_once(':').unwrap();
            h.parse::<u32>().unwrap() * 60 + mm.parse::<u32>().unwrap()
        };
        assert_eq!(
            mins(end) - mins(start),
            v["slot_minutes"].as_u64().unwrap() as u32
        );
    }
    assert!(per.values().all(|&n| n <= k), "{per:?}");
}

#[test]
fn agenda_obeys_k_organisations_and_slots() {
    let tmp = tempfile::tempdir().unwrap();
    let d = demo_dir(tmp.path());
    let v = cli(
        &d,
        &[
            "events",
            "agenda",
            "cacic-2027-matchmaking",
            "--k",
            "1",
            "--slot-minutes",
            "20",
            "--json",
        ],
    )
    .ok()
    .json();
    check_agenda(&v, 1);
    assert_eq!(v["slot_minutes"], 20);
    assert_eq!(v["participants"]["requests"], 5);
    assert_eq!(v["participants"]["offers"], 5);
    // The intended pairs of the event's participants are among the meetings.
    let pairs: HashSet<(String, String)> = v["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["request"]["local_id"].as_str().unwrap().to_string(),
                m["offer"]["local_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (r, o) in [
        ("cacic-2026-0104", "gdtx-2026-0005"),
        ("cacic-2026-0105", "hbtx-2026-0007"),
        ("cacic-2026-0106", "hbtx-2026-0003"),
    ] {
        assert!(
            pairs.contains(&(r.into(), o.into())),
            "{r} × {o}: {pairs:?}"
        );
    }
    let v3 = cli(
        &d,
        &[
            "events",
            "agenda",
            "cacic-2027-matchmaking",
            "--k",
            "3",
            "--json",
        ],
    )
    .ok()
    .json();
    check_agenda(&v3, 3);
    assert!(v3["meetings"].as_array().unwrap().len() >= v["meetings"].as_array().unwrap().len());

    // Same organisation: a second entry of one organisation is never paired with it.
    let same_org = tmp.path().join("same-org.jsonl");
    std::fs::write(
        &same_org,
        serde_json::json!({
            "local_id": "hbtx-2026-0199", "entry_type": "request",
            "title": {"en": "Need: solar reverse-osmosis desalination know-how"},
            "summary": {"en": "Seawater desalination powered by solar energy."},
            "classifications": [{"scheme": "ipc", "code": "C02F 1/44"}],
            "transfer_modes": ["licence"],
            "organisation": {"name": {"zh": "武汉某水处理设备有限公司", "en": "A water-treatment equipment company in Wuhan"}, "kind": "enterprise", "country": "CN"},
            "valid_from": "2026-09-01", "valid_until": "2027-09-01",
            "events": ["cacic-2027-matchmaking"]
        })
        .to_string()
            + "\n",
    )
    .unwrap();
    cli(&d, &["import", same_org.to_str().unwrap()]).ok();
    let v = cli(
        &d,
        &[
            "events",
            "agenda",
            "cacic-2027-matchmaking",
            "--k",
            "3",
            "--json",
        ],
    )
    .ok()
    .json();
    check_agenda(&v, 3);
    assert!(
        v["skipped"]["same_organisation"].as_u64().unwrap() >= 1,
        "{v}"
    );

    // CSV export.
    let csv_path = tmp.path().join("agenda.csv");
    cli(
        &d,
        &[
            "events",
            "agenda",
            "hbtx-kz-2027-online",
            "--csv",
            csv_path.to_str().unwrap(),
        ],
    )
    .ok();
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("slot,date,start,end,request_id"));
    let rows: Vec<&str> = lines.collect();
    assert!(!rows.is_empty());
    assert!(rows
        .iter()
        .any(|l| l.contains("kz-2026-0104") && l.contains("hbtx-2026-0005")));
    assert!(rows
        .iter()
        .all(|l| l.contains("2027-01-26") || l.contains("2027-01-27")));
}

#[test]
fn through_a_running_node_the_index_follows_new_and_withdrawn_records() {
    let tmp = tempfile::tempdir().unwrap();
    let d = demo_dir(tmp.path());
    let node = techmesh_tests::Node::start("search", &d, techmesh_tests::free_port());
    let (s, v) = node.get("/v1/search?q=batteries&type=offer&today=2026-11-28");
    assert_eq!(s, 200, "{v}");
    assert!(ids(&v).contains(&"hbtx-2026-0002".into()));
    let (s, v) = node.get("/v1/search?class=isic4:2720&today=2026-11-28");
    assert_eq!(s, 200, "{v}");
    assert!(ids(&v).contains(&"gdtx-2026-0002".into()), "{v}");
    let (s, v) = node.post(
        "/v1/match",
        &serde_json::json!({"id": "kz-2026-0101", "today": TODAY}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["results"][0]["local_id"], "gdtx-2026-0002", "{v}");
    let (s, v) = node.get("/v1/search?class=nope");
    assert_eq!(s, 400, "{v}");

    // New records reach the index as they arrive (the CLI goes through the API).
    let body = tmp.path().join("new.json");
    std::fs::write(
        &body,
        serde_json::json!({
            "local_id": "zz-2026-0001", "entry_type": "offer",
            "title": {"en": "Zeolite membranes for brine concentration"},
            "summary": {"en": "Pervaporation zeolite membranes."},
            "classifications": [{"scheme": "ipc", "code": "B01D 71/02"}],
            "transfer_modes": ["licence"],
            "trl": {"scheme": "trl-eu", "level": 6},
            "organisation": {"name": {"en": "Test"}, "kind": "university", "country": "CN"},
            "valid_from": "2026-09-01", "valid_until": "2027-09-01"
        })
        .to_string(),
    )
    .unwrap();
    cli(&d, &["publish", body.to_str().unwrap()]).ok();
    let (_, v) = node.get("/v1/search?q=zeolite&today=2026-11-28");
    assert_eq!(ids(&v), ["zz-2026-0001"]);
    // Through the CLI too (ApiBackend).
    let v = search(&d, &["zeolite"]);
    assert_eq!(ids(&v), ["zz-2026-0001"]);
    cli(&d, &["withdraw", "entry/zz-2026-0001"]).ok();
    let (_, v) = node.get("/v1/search?q=zeolite&today=2026-11-28");
    assert_eq!(v["total"], 0, "{v}");

    // Agenda over the API, as JSON and CSV.
    let (s, v) = node.get("/v1/events/hbtx-kz-2027-online/agenda?k=2&slot_minutes=45");
    assert_eq!(s, 200, "{v}");
    check_agenda(&v, 2);
    let csv = reqwest::blocking::get(format!(
        "http://{}/v1/events/hbtx-kz-2027-online/agenda?format=csv",
        node.api
    ))
    .unwrap()
    .text()
    .unwrap();
    assert!(csv.starts_with("slot,date,start,end"), "{csv}");
    let v = cli(&d, &["events", "agenda", "hbtx-kz-2027-online", "--json"])
        .ok()
        .json();
    check_agenda(&v, 3);
}
