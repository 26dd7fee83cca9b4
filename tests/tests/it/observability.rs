//! `GET /metrics`: Prometheus text that follows what the node does (records stored
//! by kind, refusals by reason, peers, request latency by route).

use serde_json::json;
use techmesh_tests::{wait_until, Federation, Node, Spec, DEADLINE};

fn metrics(n: &Node) -> String {
    let r = reqwest::blocking::get(format!("http://{}/metrics", n.api)).expect("GET /metrics");
    assert_eq!(r.status().as_u16(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    r.text().unwrap()
}

/// The value of one sample line (`name{labels} value`), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_count_stored_and_refused_records_peers_and_requests() {
    let f = Federation::start(
        &[Spec::new("hubei", "CN"), Spec::new("guangdong", "CN")],
        &[(0, 1)],
    );
    let (a, b) = (f.node(0), f.node(1));
    let stored = a.publish(&crate::entry("metrics-1", "federation"));
    let id = stored["id"].as_str().unwrap().to_string();
    wait_until("guangdong holds the entry", DEADLINE, || (b.has(&id), ()));

    // A forged copy (signature changed) is refused and counted by reason.
    let (_, rec) = a.get(&format!("/v1/record?id={id}"));
    let mut raw = rec["record"].as_str().unwrap().to_string();
    let at = raw.find("\"sig\":\"").unwrap() + 7;
    let flipped = if &raw[at..at + 1] == "0" { "1" } else { "0" };
    raw.replace_range(at..at + 1, flipped);
    let (_, answer) = b.post("/v1/ingest", &json!({ "records": [raw] }));
    assert!(answer.to_string().contains("signature"), "{answer}");

    let text = metrics(b);
    assert!(text.ends_with("# EOF\n"));
    let entries = sample(&text, "techmesh_records_ingested_total{kind=\"entry\"}");
    assert!(entries >= Some(1.0), "{text}");
    let refused = sample(
        &text,
        "techmesh_records_refused_total{reason=\"bad_signature\"}",
    );
    assert_eq!(refused, Some(1.0), "{text}");
    assert_eq!(
        sample(&text, "techmesh_peers_connected"),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(&text, "techmesh_records{kind=\"entry\"}") >= Some(1.0),
        "{text}"
    );
    // The request above is in the latency histogram, by route.
    assert!(
        text.contains(
            "techmesh_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/ingest\""
        ),
        "{text}"
    );
}
