//! A trusted member floods records, half of them with a bad signature (issue 8,
//! item 3). Behaviour only (the speed figures come from `tests/benches/flood.rs`):
//! no bad record is stored or forwarded anywhere, the flooder is disconnected and
//! blocked after few bad records, and honest records keep arriving.

use serde_json::Value;
use techmesh_tests::{wait_until, Federation, Spec, DEADLINE};

/// Bad records a receiver may verify from one peer before it disconnects it
/// (issue 8: "disconnected within 100 bad messages").
pub const MAX_BAD_BEFORE_DISCONNECT: usize = 100;

/// Lines of `log` that report an invalid gossip record from `peer`.
pub fn invalid_from(log: &str, peer: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("invalid record in gossip") && l.contains(peer))
        .count()
}

#[test]
fn flood_of_bad_signatures_is_dropped_and_the_flooder_is_blocked() {
    // A – B – C, and F (a trusted member gone bad) linked to B only.
    let mut f = Federation::init(
        &[
            Spec::new("hubei", "CN"),
            Spec::new("guangdong", "CN"),
            Spec::new("sichuan", "CN"),
            Spec::new("flooder", "CN"),
        ],
        &[(0, 1), (1, 2), (1, 3)],
    );
    for i in 0..3 {
        f.start_node(i);
    }
    let before = f
        .node(0)
        .publish(&crate::entry("before-flood", "federation"));
    let before_id = before["id"].as_str().unwrap().to_string();
    wait_until("first honest record on C", DEADLINE, || {
        (f.node(2).has(&before_id), ())
    });
    let flooder = f.spawn_flooder(3, 1);
    let f_peer = f.members[3].peer_id.clone();
    wait_until("B blocks the flooder", DEADLINE, || {
        let log = f.node(1).log();
        (
            log.contains("disconnected and blocked") && log.contains(&f_peer),
            invalid_from(&log, &f_peer),
        )
    });
    // Honest records published during and after the flood still reach everyone.
    let during = f
        .node(0)
        .publish(&crate::entry("during-flood", "federation"));
    let during_id = during["id"].as_str().unwrap().to_string();
    wait_until(
        "honest record published during the flood on C",
        DEADLINE,
        || (f.node(2).has(&during_id), ()),
    );
    let out = flooder.wait_with_output().expect("debug-flood output");
    assert!(
        out.status.success(),
        "debug-flood failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("debug-flood JSON");
    assert!(report["bad"].as_u64().unwrap_or(0) > 0, "{report}");
    assert_eq!(report["disconnected"], true, "{report}");
    let b_log = f.node(1).log();
    let bad_verified = invalid_from(&b_log, &f_peer);
    assert!(
        bad_verified <= MAX_BAD_BEFORE_DISCONNECT,
        "B verified {bad_verified} bad records from the flooder (bound {MAX_BAD_BEFORE_DISCONNECT})"
    );
    assert_eq!(f.node(1).peer_info(&f_peer)["connected"], false);
    // Not one bad record stored, anywhere; none forwarded past B.
    let publisher = f.members[3].publisher.clone();
    for n in 0..3 {
        let bad: Vec<String> = f
            .record_ids(n, &publisher)
            .into_iter()
            .filter(|id| id.contains("/flood-bad-"))
            .collect();
        assert!(bad.is_empty(), "node {n} stored bad records: {bad:?}");
    }
    for n in [0, 2] {
        let log = f.node(n).log();
        assert!(
            !log.contains("invalid record in gossip"),
            "node {n} received an invalid record: B forwarded it"
        );
        let b_info = f.node(n).peer_info(&f.members[1].peer_id);
        assert_eq!(b_info["strikes"].as_u64().unwrap_or(0), 0, "{b_info}");
    }
}
