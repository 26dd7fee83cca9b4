//! Abuse of the sync and query protocols by a trusted member (issue 8, item 4):
//! oversized messages, too many concurrent requests, streams that never finish,
//! requests for huge ranges or answers. Each is refused or bounded, and an honest
//! peer keeps syncing with (and being answered by) the node meanwhile. The abusive
//! client is `techmesh debug-abuse`.

use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};
use techmesh_tests::{bin, wait_until, Federation, Spec, DEADLINE};

/// Streams one connection may hold open on the sync protocol (the request-response
/// behaviour's `max_concurrent_streams` in node/src/net/behaviour.rs).
const STREAMS_PER_CONNECTION: u64 = 16;
/// Connections one peer may hold (`max_established_per_peer`).
const CONNECTIONS_PER_PEER: u64 = 2;
/// Streams one connection may hold open on the query protocol.
const QUERY_STREAMS_PER_CONNECTION: u64 = 32;
/// Largest message a node accepts or sends (node.toml default).
const MAX_MESSAGE_BYTES: u64 = 256 * 1024;
/// Most records one query answer may carry.
const MAX_ANSWER_RECORDS: u64 = techmesh_protocol::query::MAX_ANSWER_RECORDS as u64;

/// Victim A, honest B, abuser X (a trusted member of A; not running a node).
fn federation() -> Federation {
    let mut f = Federation::init(
        &[
            Spec::new("hubei", "CN"),
            Spec::new("guangdong", "CN"),
            Spec::new("abuser", "CN"),
        ],
        &[(0, 1), (0, 2)],
    );
    f.start_node(0);
    f.start_node(1);
    let a = f.members[0].peer_id.clone();
    wait_until("B connected to A", DEADLINE, || {
        (f.node(1).connected().contains(&a), ())
    });
    f
}

fn spawn_abuse(f: &Federation, protocol: &str, mode: &str, count: usize) -> Child {
    let a_addr = format!(
        "/ip4/127.0.0.1/tcp/{}/p2p/{}",
        f.members[0].port, f.members[0].peer_id
    );
    Command::new(bin())
        .arg("--data-dir")
        .arg(&f.members[2].dir)
        .args([
            "debug-abuse",
            "--peer",
            &a_addr,
            "--protocol",
            protocol,
            "--mode",
            mode,
            "--count",
            &count.to_string(),
            "--duration",
            "150",
        ])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting debug-abuse")
}

fn report(child: Child) -> Value {
    let out = child.wait_with_output().expect("debug-abuse output");
    assert!(
        out.status.success(),
        "debug-abuse failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("debug-abuse JSON")
}

fn n(v: &Value, field: &str) -> u64 {
    v[field].as_u64().unwrap_or(0)
}

/// B's completed sync sessions with A.
fn honest_sessions(f: &Federation) -> u64 {
    let info = f.node(1).peer_info(&f.members[0].peer_id);
    info["sync"]["sessions"].as_u64().unwrap_or(0)
}

/// A publishes a record and B completes two more sync sessions with A, ending "ok".
fn honest_peer_is_served(f: &Federation, local_id: &str) {
    let s0 = honest_sessions(f);
    let id = f.node(0).publish(&crate::entry(local_id, "federation"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until("B holds A's new record", DEADLINE, || {
        (f.node(1).has(&id), ())
    });
    wait_until(
        "B completes two more sync sessions with A",
        DEADLINE,
        || {
            let info = f.node(1).peer_info(&f.members[0].peer_id);
            let s = info["sync"]["sessions"].as_u64().unwrap_or(0);
            (
                s >= s0 + 2 && info["sync"]["state"] == "ok",
                info["sync"].clone(),
            )
        },
    );
}

#[test]
fn oversized_concurrent_and_huge_range_requests_are_refused_or_bounded() {
    let f = federation();

    // Oversized: 4 requests of 1 MiB of garbage, then a valid one.
    let r = report(spawn_abuse(&f, "sync", "oversized", 4));
    assert_eq!(n(&r, "requests"), 5, "{r}");
    assert_eq!(n(&r, "failed"), 4, "oversized requests not refused: {r}");
    assert_eq!(r["outcomes"][4], "answered", "valid request after: {r}");
    assert!(n(&r, "max_answer_bytes") <= MAX_MESSAGE_BYTES, "{r}");

    // Too many at once: 64 requests in one burst on one connection.
    let abuse = spawn_abuse(&f, "sync", "concurrent", 64);
    honest_peer_is_served(&f, "during-concurrent");
    let r = report(abuse);
    assert_eq!(n(&r, "requests"), 64, "{r}");
    assert_eq!(n(&r, "open"), 0, "{r}");
    assert!(n(&r, "answered") >= 1, "no request answered at all: {r}");
    // How many get an answer depends on how fast the node finishes each one; that
    // some are turned away (Busy, or the stream dropped at capacity) does not.
    assert!(
        n(&r, "busy") + n(&r, "failed") >= 1,
        "64 simultaneous requests all served: no per-peer bound: {r}"
    );

    // Huge ranges: too many ranges, too big a fetch, too deep a path, a huge item list.
    let r = report(spawn_abuse(&f, "sync", "huge-range", 0));
    assert_eq!(n(&r, "requests"), 4, "{r}");
    assert_eq!(n(&r, "refused"), 3, "{r}");
    assert_eq!(n(&r, "answered"), 1, "{r}");
    let reasons = r["reasons"].to_string();
    for expect in ["ranges, more than", "fetch of", "invalid range path"] {
        assert!(reasons.contains(expect), "no refusal '{expect}': {r}");
    }
    assert!(n(&r, "max_answer_bytes") <= MAX_MESSAGE_BYTES, "{r}");

    honest_peer_is_served(&f, "after-abuse");
}

#[test]
fn stalled_streams_are_bounded_and_cut_while_an_honest_peer_syncs() {
    let f = federation();
    // 48 streams that send 4 bytes of a request and then one byte a second, forever.
    let abuse = spawn_abuse(&f, "sync", "stall", 48);
    honest_peer_is_served(&f, "during-stall");
    let r = report(abuse);
    assert_eq!(n(&r, "requests"), 48, "{r}");
    assert_eq!(n(&r, "open"), 0, "A never cut some stalled streams: {r}");
    assert_eq!(n(&r, "failed"), 48, "{r}");
    assert!(
        n(&r, "held") <= STREAMS_PER_CONNECTION * CONNECTIONS_PER_PEER,
        "A held more stalled streams than its bound: {r}"
    );
    honest_peer_is_served(&f, "after-stall");
}

/// B runs a federated search; A ("hubei") answers it.
fn honest_query_is_answered(f: &Federation) {
    let (s, v) = f.node(1).post(
        "/v1/federated-search",
        &json!({"q": "lithium", "deadline_ms": 10_000}),
    );
    assert_eq!(s, 200, "federated search failed: {v}");
    let a = v["peers"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["member"] == "hubei").cloned())
        .unwrap_or(Value::Null);
    assert_eq!(a["status"], "ok", "A did not answer B's query: {v:#}");
}

#[test]
fn query_abuse_is_refused_or_bounded_while_an_honest_peer_is_answered() {
    let f = federation();
    let id = f.node(0).publish(&crate::entry("q-target", "federation"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until("B holds A's record", DEADLINE, || (f.node(1).has(&id), ()));

    let r = report(spawn_abuse(&f, "query", "oversized", 2));
    assert_eq!(n(&r, "failed"), 2, "oversized queries not refused: {r}");
    assert_eq!(r["outcomes"][2], "answered", "valid query after: {r}");

    let abuse = spawn_abuse(&f, "query", "concurrent", 64);
    honest_query_is_answered(&f);
    let r = report(abuse);
    assert_eq!(n(&r, "open"), 0, "{r}");
    assert!(n(&r, "answered") >= 1, "no query answered at all: {r}");
    assert!(
        n(&r, "refused") + n(&r, "busy") + n(&r, "failed") >= 1,
        "64 simultaneous queries all answered: no per-peer bound: {r}"
    );

    let r = report(spawn_abuse(&f, "query", "huge-range", 0));
    assert_eq!(n(&r, "refused"), 3, "{r}");
    assert_eq!(n(&r, "answered"), 1, "{r}");
    let reasons = r["reasons"].to_string();
    for expect in [
        "search parameters, more than",
        "longer than",
        "matchmaking subject of",
    ] {
        assert!(reasons.contains(expect), "no refusal '{expect}': {r}");
    }
    assert!(n(&r, "max_answer_records") <= MAX_ANSWER_RECORDS, "{r}");
    assert!(n(&r, "max_answer_bytes") <= MAX_MESSAGE_BYTES, "{r}");

    let abuse = spawn_abuse(&f, "query", "stall", 80);
    honest_query_is_answered(&f);
    let r = report(abuse);
    assert_eq!(
        n(&r, "open"),
        0,
        "A never cut some stalled query streams: {r}"
    );
    assert_eq!(n(&r, "failed"), 80, "{r}");
    assert!(
        n(&r, "held") <= QUERY_STREAMS_PER_CONNECTION * CONNECTIONS_PER_PEER,
        "A held more stalled query streams than its bound: {r}"
    );
    honest_query_is_answered(&f);
}
