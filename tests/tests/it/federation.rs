//! Multi-node behaviour: gossip along a line, late joiners, partitions and heals,
//! restarts. Every wait is on an observable state, with a generous deadline.

use techmesh_tests::{wait_until, Federation, Spec, DEADLINE};

fn three_cn() -> Vec<Spec> {
    vec![
        Spec::new("hubei", "CN"),
        Spec::new("guangdong", "CN"),
        Spec::new("sichuan", "CN"),
    ]
}

/// Wait until all running nodes hold the same store digest and `total` records.
fn converged(f: &Federation, nodes: &[usize], total: u64) {
    wait_until("identical store digests", DEADLINE, || {
        let d: Vec<(String, u64)> = nodes
            .iter()
            .map(|&i| (f.node(i).digest(), f.node(i).total()))
            .collect();
        (d.iter().all(|x| *x == d[0]) && d[0].1 == total, d)
    });
}

#[test]
fn line_topology_record_from_a_reaches_c_through_b() {
    let f = Federation::start(&three_cn(), &[(0, 1), (1, 2)]);
    wait_until("B connected to A and C", DEADLINE, || {
        let c = f.node(1).connected();
        (c.len() == 2, c)
    });
    // A and C are not linked: they never connect.
    assert!(!f.node(0).connected().contains(&f.node(2).peer_id));
    let stored = f.node(0).publish(&crate::entry("line-1", "federation"));
    let id = stored["id"].as_str().unwrap().to_string();
    wait_until("record on C", DEADLINE, || (f.node(2).has(&id), ()));
    let on_c = f.node(2).record(&id).unwrap();
    assert_eq!(on_c["seq"], "1");
    assert_eq!(on_c["publisher"], f.members[0].publisher.as_str());
    // Receiving the same record again changes nothing.
    let (_, raw) = f.node(0).get(&format!("/v1/record?id={id}"));
    let again = f.node(2).post(
        "/v1/ingest",
        &serde_json::json!({"records": [raw["record"]]}),
    );
    assert_eq!(again.1[0]["status"], "duplicate");
    converged(&f, &[0, 1, 2], 1);
}

#[test]
fn late_joiner_catches_up_and_withdrawals_do_not_resurrect() {
    let mut f = Federation::init(&three_cn(), &[(0, 1), (1, 2)]);
    f.start_node(0);
    f.start_node(1);
    for i in 0..20 {
        f.node(0)
            .publish(&crate::entry(&format!("late-{i}"), "federation"));
    }
    let gone = f.id(0, "entry", "late-3");
    let (s, v) = f
        .node(0)
        .post("/v1/withdraw", &serde_json::json!({"id": gone}));
    assert_eq!(s, 200, "{v}");
    // A newer version replaces the older one everywhere.
    let mut v2 = crate::entry("late-4", "federation");
    v2["title"]["en"] = "revised title".into();
    f.node(0).publish(&v2);
    converged(&f, &[0, 1], 20);
    f.start_node(2);
    converged(&f, &[0, 1, 2], 20);
    let t = f.node(2).record(&gone).unwrap();
    assert_eq!(t["kind"], "tombstone");
    let r4 = f.node(2).record(&f.id(0, "entry", "late-4")).unwrap();
    assert_eq!(r4["body"]["title"]["en"], "revised title");
}

#[test]
fn partition_and_heal_converge_to_identical_digests() {
    let mut f = Federation::start(&three_cn(), &[(0, 1), (1, 2), (0, 2)]);
    wait_until("full mesh", DEADLINE, || {
        let c: Vec<usize> = (0..3).map(|i| f.node(i).connected().len()).collect();
        (c.iter().all(|&n| n == 2), c)
    });
    // Each node must have heard its seq from a peer before the cut (no-self-fork
    // guard), or C could never publish while isolated.
    wait_until("every seq confirmed by a peer", DEADLINE, || {
        let c: Vec<bool> = (0..3)
            .map(|i| f.node(i).status()["seq_confirmed_by_peer"] == true)
            .collect();
        (c.iter().all(|x| *x), c)
    });
    // Cut C off from both (trust lists reloaded with SIGHUP: links blocked).
    f.set_links(&[(0, 1)]);
    wait_until("C isolated", DEADLINE, || {
        let c = f.node(2).connected();
        (c.is_empty(), c)
    });
    for i in 0..5 {
        f.node(0)
            .publish(&crate::entry(&format!("left-{i}"), "federation"));
        f.node(2)
            .publish(&crate::entry(&format!("right-{i}"), "federation"));
    }
    wait_until("B has A's side", DEADLINE, || {
        (f.node(1).total() == 5, f.node(1).total())
    });
    assert_eq!(f.node(2).total(), 5);
    assert!(!f.node(1).has(&f.id(2, "entry", "right-0")));
    // Heal.
    f.set_links(&[(0, 1), (1, 2), (0, 2)]);
    converged(&f, &[0, 1, 2], 10);
}

#[test]
fn restarted_node_keeps_its_data_and_catches_up() {
    let mut f = Federation::start(&three_cn(), &[(0, 1), (1, 2)]);
    for i in 0..5 {
        f.node(0)
            .publish(&crate::entry(&format!("before-{i}"), "federation"));
    }
    converged(&f, &[0, 1, 2], 5);
    f.stop_node(2);
    for i in 0..5 {
        f.node(0)
            .publish(&crate::entry(&format!("while-down-{i}"), "federation"));
    }
    converged(&f, &[0, 1], 10);
    f.start_node(2);
    // Its own data is there at once (before any sync could run)...
    assert!(f.node(2).total() >= 5);
    // ...and it catches up.
    converged(&f, &[0, 1, 2], 10);
    // A crash (SIGKILL) loses nothing acknowledged either.
    let id = f.node(2).publish(&crate::entry("acked", "federation"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    f.node_mut(2).kill();
    f.nodes[2] = None;
    f.start_node(2);
    assert!(f.node(2).has(&id));
}
