//! A query-only observer in a 3-node federation: it must receive no record by
//! gossip, neither published by a member it is connected to nor relayed by one.

use techmesh_tests::{wait_until, Federation, Spec, DEADLINE};

/// `text` (a trust.toml) with the member `name` turned into an observer.
fn as_observer(text: &str, name: &str) -> String {
    text.split("[[member]]")
        .map(|block| {
            if block.contains(&format!("name = {name:?}")) {
                block
                    .lines()
                    .filter(|l| !l.starts_with("publish_mappings"))
                    .map(|l| {
                        if l.starts_with("roles = ") {
                            "roles = [\"observer\"]\nreceive_scopes = []".to_string()
                        } else {
                            l.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
                    + "\n"
            } else {
                block.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("[[member]]")
}

#[test]
fn observer_receives_no_gossip_in_a_three_node_federation() {
    // A (0) and B (1) replicate; O (2) is an observer in both their trust lists.
    let mut f = Federation::init(
        &[
            Spec::new("hubei", "CN"),
            Spec::new("bavaria", "DE"),
            Spec::new("observer", "CN"),
        ],
        &[(0, 1), (0, 2), (1, 2)],
    );
    for i in [0, 1] {
        let text = as_observer(&f.trust_text(i), "observer");
        std::fs::write(f.members[i].dir.join("trust.toml"), text).unwrap();
    }
    for i in 0..3 {
        f.start_node(i);
    }
    let (a, b, o) = (
        f.members[0].peer_id.clone(),
        f.members[1].peer_id.clone(),
        f.members[2].peer_id.clone(),
    );
    wait_until("all three connected", DEADLINE, || {
        let (ca, cb) = (f.node(0).connected(), f.node(1).connected());
        let ok = ca.contains(&b) && ca.contains(&o) && cb.contains(&a) && cb.contains(&o);
        (ok, (ca, cb))
    });
    let sessions = |peer: &str| {
        f.node(2).peer_info(peer)["sync"]["sessions"]
            .as_u64()
            .unwrap_or(0)
    };
    let ids: Vec<String> = (0..6)
        .map(|k| {
            let scope = if k % 2 == 0 {
                "international"
            } else {
                "federation"
            };
            f.node(0)
                .publish(&crate::entry(&format!("obs3-{k}"), scope))["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    wait_until("B holds every record of A", DEADLINE, || {
        let missing: Vec<&String> = ids.iter().filter(|id| !f.node(1).has(id)).collect();
        (missing.is_empty(), missing)
    });
    // After B has them, two more sync rounds of O with each of its peers: any
    // gossip (published by A or relayed by B) would have arrived by then.
    let (sa, sb) = (sessions(&a), sessions(&b));
    wait_until("two more sync rounds of the observer", DEADLINE, || {
        let (na, nb) = (sessions(&a), sessions(&b));
        (na >= sa + 2 && nb >= sb + 2, (na, nb))
    });
    for (who, peer) in [("A", &a), ("B", &b)] {
        let info = f.node(2).peer_info(peer);
        assert!(
            info["sync"]["last_error"]
                .as_str()
                .unwrap_or("")
                .contains("observers do not replicate"),
            "sync of the observer with {who} was not refused: {info}"
        );
    }
    let leaked: Vec<&String> = ids.iter().filter(|id| f.node(2).has(id)).collect();
    assert!(
        leaked.is_empty(),
        "the observer received {leaked:?}\nOBS LOG:\n{}\nA LOG:\n{}\nB LOG:\n{}",
        f.node(2).log(),
        f.node(0).log(),
        f.node(1).log()
    );
}
