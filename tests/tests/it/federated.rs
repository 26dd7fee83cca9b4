//! Federated query (`POST /v1/federated-search`, `POST /v1/match` with
//! `"federated": true`): what peers answer (scope, records the asker does not
//! replicate), what the asker believes (tampered records rejected and reported),
//! and how it reports peers that are down or refuse.

use serde_json::{json, Value};
use techmesh_tests::{cli, wait_until, Federation, Spec, DEADLINE};

/// Deadline given to federated queries in tests: long, so a loaded machine never
/// turns a live peer into a timeout.
const QUERY_DEADLINE_MS: u64 = 10_000;

/// Make member `name` a query-only observer in a trust.toml text.
fn as_observer(trust: &str, name: &str) -> String {
    trust
        .split_inclusive("[[member]]")
        .map(|block| {
            if !block.contains(&format!("name = {name:?}\n")) {
                return block.to_string();
            }
            block
                .lines()
                .filter(|l| !l.starts_with("publish_mappings"))
                .map(|l| {
                    if l.starts_with("roles = ") {
                        "roles = [\"observer\"]".to_string()
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        })
        .collect()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("published id").to_string()
}

fn result_ids(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn peer<'a>(v: &'a Value, member: &str) -> &'a Value {
    v["peers"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["member"] == member))
        .unwrap_or_else(|| panic!("no status for peer {member} in {v:#}"))
}

fn fed_search(f: &Federation, asker: usize, body: Value) -> Value {
    let (s, v) = f.node(asker).post("/v1/federated-search", &body);
    assert_eq!(s, 200, "federated search failed: {v}");
    v
}

/// Wait until node `i`'s own search (`/v1/search?QUERY`) finds every id of `ids`: the
/// search index follows the store, so a record `has()` reports may not be searchable
/// for a moment, and the local part of a federated answer comes from that index.
fn wait_searchable(f: &Federation, i: usize, query: &str, ids: &[&str]) {
    wait_until("records searchable", DEADLINE, || {
        let (_, v) = f.node(i).get(&format!("/v1/search?{query}"));
        let found = result_ids(&v);
        (ids.iter().all(|id| found.iter().any(|f| f == id)), found)
    });
}

fn wait_connected(f: &Federation, want: &[usize]) {
    wait_until("connections", DEADLINE, || {
        let c: Vec<usize> = (0..want.len())
            .map(|i| f.node(i).connected().len())
            .collect();
        (c.iter().zip(want).all(|(a, b)| a >= b), c)
    });
}

#[test]
fn observer_gets_what_it_does_not_replicate_within_scope_and_rejects_tampered_records() {
    // 0 = a Kenyan query-only observer; 1 = Hubei (honest); 2 = Guangdong, which
    // corrupts the signature of everything it returns (test hook).
    let specs = [
        Spec::new("observer-ke", "KE"),
        Spec::new("hubei", "CN"),
        Spec::new("guangdong", "CN"),
    ];
    let mut f = Federation::init(&specs, &[(0, 1), (0, 2), (1, 2)]);
    for i in [1, 2] {
        let text = as_observer(&f.trust_text(i), "observer-ke");
        std::fs::write(f.members[i].dir.join("trust.toml"), text).unwrap();
    }
    std::fs::write(
        f.members[2].dir.join("TECHMESH_DEBUG_TAMPER_QUERY"),
        "test hook",
    )
    .unwrap();
    // Published before the nodes run, so only sync (never gossip) can carry them,
    // and sync never serves an observer.
    let publish_offline = |i: usize, local_id: &str, scope: &str| {
        let file = f.members[i].dir.join(format!("{local_id}.json"));
        std::fs::write(&file, crate::entry(local_id, scope).to_string()).unwrap();
        cli(&f.members[i].dir, &["publish", file.to_str().unwrap()]).ok();
        f.id(i, "entry", local_id)
    };
    let nat = publish_offline(1, "hb-nat", "national");
    let intl = publish_offline(1, "hb-intl", "international");
    let gd = publish_offline(2, "gd-intl", "international");
    for i in 0..3 {
        f.start_node(i);
    }
    wait_connected(&f, &[2, 2, 2]);
    wait_until("Hubei's records on Guangdong", DEADLINE, || {
        (f.node(2).has(&nat) && f.node(2).has(&intl), ())
    });
    wait_until("Guangdong's record on Hubei", DEADLINE, || {
        (f.node(1).has(&gd), ())
    });

    let v = fed_search(
        &f,
        0,
        json!({"q": "lithium", "deadline_ms": QUERY_DEADLINE_MS}),
    );
    let ids = result_ids(&v);
    // The observer replicates nothing: everything came through the query.
    assert_eq!(f.node(0).total(), 0, "an observer replicated records");
    assert!(ids.contains(&intl), "international entry missing: {v:#}");
    assert!(
        ids.contains(&gd),
        "Guangdong's entry (via Hubei) missing: {v:#}"
    );
    assert!(
        !ids.contains(&nat),
        "a national entry of China reached a Kenyan asker: {v:#}"
    );
    for r in v["results"].as_array().unwrap() {
        // Every record believed came from the honest peer.
        assert_eq!(r["node"], "hubei", "{r:#}");
        assert_eq!(r["signature_verified"], true);
    }
    let by_id = |id: &str| {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_id(&intl)["member"], "hubei");
    assert_eq!(by_id(&gd)["member"], "guangdong");
    let hb = peer(&v, "hubei");
    assert_eq!(hb["status"], "ok", "{hb}");
    assert_eq!(hb["rejected"], 0);
    assert_eq!(
        hb["count"], 2,
        "Hubei must answer exactly the two international entries"
    );
    let gdp = peer(&v, "guangdong");
    assert_eq!(gdp["status"], "ok", "{gdp}");
    assert_eq!(gdp["count"], 0, "{gdp}");
    assert_eq!(gdp["rejected"], 2, "{gdp}");
    let rejected = v["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{v:#}");
    for r in rejected {
        assert_eq!(r["member"], "guangdong");
        assert!(
            r["reason"].as_str().unwrap().contains("invalid record"),
            "{r}"
        );
    }

    // A Chinese asker (Hubei, a member) gets Guangdong's national entries too.
    let cn = id_of(&f.node(2).publish(&crate::entry("gd-nat", "national")));
    wait_until("Guangdong's national entry on Hubei", DEADLINE, || {
        (f.node(1).has(&cn), ())
    });
    wait_searchable(&f, 1, "q=lithium&scope=national", &[&cn, &nat]);
    let v = fed_search(
        &f,
        1,
        json!({"q": "lithium", "scope": "national", "deadline_ms": QUERY_DEADLINE_MS}),
    );
    let ids = result_ids(&v);
    assert!(ids.contains(&cn) && ids.contains(&nat), "{v:#}");
    // Guangdong's answer was tampered with: both come from Hubei's own store.
    assert!(v["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["node"] == "local"));
    assert_eq!(peer(&v, "guangdong")["rejected"], 2, "{v:#}");
    // The observer is not asked: it holds nothing.
    assert!(v["peers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["member"] != "observer-ke"));
}

/// A request that Si/C battery offers fit.
fn battery_request() -> Value {
    json!({
        "local_id": "req-battery",
        "entry_type": "request",
        "title": {"en": "Looking for a silicon-carbon anode lithium-ion cell"},
        "summary": {"en": "We need a Si/C anode lithium-ion battery with long cycle life."},
        "classifications": [{"scheme": "ipc", "code": "H01M"}],
        "transfer_modes": ["licence"],
        "organisation": {"name": {"en": "Test Motors"}, "kind": "enterprise", "country": "CN"},
        "valid_from": "2026-03-01",
        "valid_until": "2027-03-01",
        "scope": "federation"
    })
}

#[test]
fn a_peer_down_gives_a_partial_answer_and_a_rate_limited_peer_refuses() {
    // 0 = Hubei asks; 1 = Sichuan will be stopped; 2 = Kenya answers one query a minute.
    let specs = [
        Spec::new("hubei", "CN"),
        Spec::new("sichuan", "CN"),
        Spec::new("kenya", "KE"),
    ];
    let mut f = Federation::init(&specs, &[(0, 1), (0, 2), (1, 2)]);
    let toml = f.members[2].dir.join("node.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let limited = text.replace(
        "[query]\nrequests_per_minute = 600",
        "[query]\nrequests_per_minute = 1",
    );
    assert_ne!(text, limited, "node.toml has no [query] section");
    std::fs::write(&toml, limited).unwrap();
    for i in 0..3 {
        f.start_node(i);
    }
    wait_connected(&f, &[2, 2, 2]);
    let sc = id_of(&f.node(1).publish(&crate::entry("sc-fed", "federation")));
    let ke = id_of(&f.node(2).publish(&crate::entry("ke-fed", "federation")));
    let req = id_of(&f.node(0).publish(&battery_request()));
    wait_until("everything on Hubei", DEADLINE, || {
        (f.node(0).has(&sc) && f.node(0).has(&ke), ())
    });

    let v = fed_search(
        &f,
        0,
        json!({"q": "lithium", "deadline_ms": QUERY_DEADLINE_MS}),
    );
    assert_eq!(peer(&v, "kenya")["status"], "ok", "{v:#}");
    assert_eq!(peer(&v, "sichuan")["status"], "ok", "{v:#}");
    assert_eq!(v["partial"], false);
    let ids = result_ids(&v);
    assert!(ids.contains(&sc) && ids.contains(&ke), "{v:#}");
    for r in v["results"].as_array().unwrap() {
        assert!(r["member"].is_string(), "{r}");
    }

    // Kenya's one query of the minute is used up.
    let v = fed_search(
        &f,
        0,
        json!({"q": "lithium", "deadline_ms": QUERY_DEADLINE_MS}),
    );
    let kp = peer(&v, "kenya");
    assert_eq!(kp["status"], "refused", "{v:#}");
    assert!(kp["error"].as_str().unwrap().contains("rate limit"), "{kp}");
    assert_eq!(v["partial"], true);

    // Sichuan goes down: the answer is partial and names it.
    f.stop_node(1);
    let v = fed_search(
        &f,
        0,
        json!({"q": "lithium", "deadline_ms": QUERY_DEADLINE_MS}),
    );
    let sp = peer(&v, "sichuan");
    assert!(
        sp["status"] == "timeout" || sp["status"] == "error",
        "a stopped peer must be reported as timeout or error: {sp}"
    );
    assert_eq!(v["partial"], true);
    // What Hubei holds is still answered.
    assert!(result_ids(&v).contains(&sc), "{v:#}");

    // Federated match: ranked offers with their explanations, peers reported.
    let (s, m) = f.node(0).post(
        "/v1/match",
        &json!({"id": req, "federated": true, "deadline_ms": QUERY_DEADLINE_MS}),
    );
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["scope"], "federated");
    let results = m["results"].as_array().unwrap();
    assert!(results.len() >= 2, "{m:#}");
    for r in results {
        assert_eq!(r["entry_type"], "offer");
        assert!(
            r["explanation"]["classification"].is_object(),
            "no explanation: {r:#}"
        );
        assert!(r["member"].is_string() && r["node"].is_string(), "{r}");
    }
    assert!(m["peers"].as_array().unwrap().len() == 2, "{m:#}");
    assert!(
        peer(&m, "sichuan")["status"] != "ok",
        "{}",
        peer(&m, "sichuan")
    );

    // The CLI asks the running node the same way.
    let out = techmesh_tests::cli(
        &f.members[0].dir,
        &[
            "search",
            "lithium",
            "--federated",
            "--deadline-ms",
            "10000",
            "--json",
        ],
    )
    .ok()
    .json();
    assert_eq!(out["federated"], true);
    assert!(out["peers"].as_array().unwrap().len() == 2, "{out:#}");
    let out = techmesh_tests::cli(&f.members[0].dir, &["match", &req, "--federated"]).ok();
    assert!(out.stdout.contains("peer sichuan"), "{}", out.stdout);
}
