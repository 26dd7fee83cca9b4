//! QUIC v1 as the transport: real nodes listening on `/udp/PORT/quic-v1` and dialling
//! each other at the QUIC addresses of their trust lists. Gossip, sync, the trust
//! gate and the config checks must behave exactly as over TCP.

use techmesh_tests::{cli, wait_until, Federation, Spec, DEADLINE};

/// Connected peers of node `i` whose address is a QUIC one.
fn quic_peers(f: &Federation, i: usize) -> Vec<String> {
    f.node(i)
        .connected()
        .into_iter()
        .filter(|p| {
            f.node(i).peer_info(p)["addresses"]
                .as_array()
                .is_some_and(|a| {
                    a.iter()
                        .any(|x| x.as_str().unwrap_or("").contains("/quic-v1"))
                })
        })
        .collect()
}

#[test]
fn three_nodes_over_quic_gossip_and_a_late_joiner_catches_up() {
    let mut f = Federation::init(
        &[
            Spec::new("hubei", "CN"),
            Spec::new("guangdong", "CN"),
            Spec::new("kenya", "KE"),
        ],
        &[(0, 1), (1, 2), (0, 2)],
    );
    f.use_quic();
    f.start_node(0);
    f.start_node(1);
    let (a, b) = (f.members[0].peer_id.clone(), f.members[1].peer_id.clone());
    wait_until("Hubei and Guangdong connected over QUIC", DEADLINE, || {
        let (qa, qb) = (quic_peers(&f, 0), quic_peers(&f, 1));
        (qa.contains(&b) && qb.contains(&a), (qa, qb))
    });
    let ids: Vec<String> = (0..3)
        .map(|k| {
            let scope = if k == 0 { "national" } else { "international" };
            f.node(0)
                .publish(&crate::entry(&format!("quic-{k}"), scope))["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    wait_until("Guangdong holds Hubei's records", DEADLINE, || {
        let missing: Vec<&String> = ids.iter().filter(|id| !f.node(1).has(id)).collect();
        (missing.is_empty(), missing)
    });
    // And the other way round.
    let back = f
        .node(1)
        .publish(&crate::entry("quic-back", "international"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until("Hubei holds Guangdong's record", DEADLINE, || {
        (f.node(0).has(&back), ())
    });
    // Kenya joins late: it catches up by sync over QUIC (international only).
    f.start_node(2);
    let c = f.members[2].peer_id.clone();
    wait_until("Kenya connected to both over QUIC", DEADLINE, || {
        let q = quic_peers(&f, 2);
        (q.contains(&a) && q.contains(&b), q)
    });
    wait_until("Kenya caught up", DEADLINE, || {
        let missing: Vec<String> = [&ids[1], &ids[2], &back]
            .into_iter()
            .filter(|id| !f.node(2).has(id))
            .cloned()
            .collect();
        (missing.is_empty(), missing)
    });
    // A record published now reaches the late joiner too.
    let late = f
        .node(1)
        .publish(&crate::entry("quic-late", "international"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until("the new record on Kenya and Hubei", DEADLINE, || {
        (f.node(2).has(&late) && f.node(0).has(&late), ())
    });
    assert!(!f.node(2).has(&ids[0]), "a national record reached Kenya");
    assert!(quic_peers(&f, 0).contains(&c));
}

#[test]
fn an_untrusted_quic_peer_is_refused() {
    // X knows A's QUIC address, but A does not list X.
    let mut f = Federation::init(
        &[Spec::new("hubei", "CN"), Spec::new("intruder", "CN")],
        &[],
    );
    f.use_quic();
    let a = &f.members[0];
    let x_trust = format!(
        "[[member]]\nname = \"hubei\"\ncountry = \"CN\"\npublisher_keys = [{:?}]\npeer_ids = [{:?}]\naddresses = [{:?}]\nroles = [\"publish_entries\"]\n",
        a.publisher,
        a.peer_id,
        f.listen_addr(0)
    );
    std::fs::write(f.members[1].dir.join("trust.toml"), x_trust).unwrap();
    std::fs::write(f.members[0].dir.join("trust.toml"), "").unwrap();
    f.start_node(0);
    f.start_node(1);
    let x_peer = f.members[1].peer_id.clone();
    wait_until(
        "A logs the refused QUIC connection with X's peer id",
        DEADLINE,
        || {
            let log = f.node(0).log();
            let refused = log.lines().any(|l| {
                l.contains("refused incoming connection")
                    && l.contains(&x_peer)
                    && l.contains("/udp/")
            });
            (refused, ())
        },
    );
    assert!(!f.node(0).connected().contains(&x_peer));
    assert!(f.node(1).connected().is_empty());
    assert_eq!(f.node(0).total(), 0);
}

#[test]
fn a_bad_transport_address_in_node_toml_is_named_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("n");
    cli(&d, &["init"]).ok();
    let toml = d.join("node.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("listen = [\"/ip4/0.0.0.0/tcp/7700\"]"))
        .expect("the default listen line")
        + 1;
    // QUIC v1 next to TCP is accepted ...
    let quic = text.replace(
        "listen = [\"/ip4/0.0.0.0/tcp/7700\"]",
        "listen = [\"/ip4/0.0.0.0/tcp/7700\", \"/ip4/0.0.0.0/udp/7700/quic-v1\"]",
    );
    std::fs::write(&toml, &quic).unwrap();
    cli(&d, &["check"]).ok();
    // ... QUIC draft-29 and a bare UDP port are not.
    for (bad, why) in [
        ("/ip4/0.0.0.0/udp/7700/quic", "draft-29"),
        ("/ip4/0.0.0.0/udp/7700", "/quic-v1"),
    ] {
        let text = quic.replace("/ip4/0.0.0.0/udp/7700/quic-v1", bad);
        std::fs::write(&toml, text).unwrap();
        let r = cli(&d, &["check"]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        let at = format!("node.toml:{line}:");
        assert!(
            r.stderr.contains(&at)
                && r.stderr.contains("network.listen[1]")
                && r.stderr.contains(why),
            "{}",
            r.stderr
        );
    }
}
