//! The no-self-fork guard: a node whose store was lost must learn its latest seq
//! from a peer before publishing, and then continue above it.

use techmesh_tests::{wait_until, Federation, Spec, DEADLINE};

#[test]
fn node_with_a_lost_store_refuses_then_continues_above_its_old_seq() {
    let mut f = Federation::start(
        &[Spec::new("hubei", "CN"), Spec::new("guangdong", "CN")],
        &[(0, 1)],
    );
    for i in 0..7 {
        f.node(0)
            .publish(&crate::entry(&format!("fork-{i}"), "federation"));
    }
    let last = f.id(0, "entry", "fork-6");
    wait_until("B has A's records", DEADLINE, || (f.node(1).has(&last), ()));
    // A loses its store; B is down when A comes back.
    f.stop_node(0);
    f.stop_node(1);
    std::fs::remove_dir_all(f.members[0].dir.join("store")).unwrap();
    f.start_node(0);
    let (status, v) = f.node(0).post(
        "/v1/publish",
        &serde_json::json!({"bodies": [crate::entry("fork-new", "federation")]}),
    );
    assert_eq!(status, 409, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("no peer has confirmed"),
        "{v}"
    );
    // With B back, A learns its watermark and publishes above it.
    f.start_node(1);
    wait_until("A's seq confirmed by B", DEADLINE, || {
        let s = f.node(0).status();
        (
            s["seq_confirmed_by_peer"] == true,
            s["seq_confirmed_by_peer"].clone(),
        )
    });
    let stored = f.node(0).publish(&crate::entry("fork-new", "federation"));
    assert!(stored["seq"].as_u64().unwrap() > 7, "seq reused: {stored}");
}
