//! Scopes: `national` never leaves the publisher's country, in gossip or sync;
//! `international` and `federation` reach everyone entitled.

use techmesh_tests::{wait_until, Federation, Spec, DEADLINE};

#[test]
fn national_entries_stay_in_the_country_in_gossip_and_sync() {
    // Hubei (CN) – Guangdong (CN) – Kenya (KE), all linked to each other.
    let f = Federation::start(
        &[
            Spec::new("hubei", "CN"),
            Spec::new("guangdong", "CN"),
            Spec::new("kenya", "KE"),
        ],
        &[(0, 1), (1, 2), (0, 2)],
    );
    wait_until("full mesh", DEADLINE, || {
        let c: Vec<usize> = (0..3).map(|i| f.node(i).connected().len()).collect();
        (c.iter().all(|&n| n == 2), c)
    });
    let national = f.node(0).publish(&crate::entry("nat-1", "national"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let intl = f.node(0).publish(&crate::entry("intl-1", "international"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let fed = f.node(0).publish(&crate::entry("fed-1", "federation"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until("national entry on Guangdong", DEADLINE, || {
        (f.node(1).has(&national), ())
    });
    wait_until(
        "international and federation entries on Kenya",
        DEADLINE,
        || (f.node(2).has(&intl) && f.node(2).has(&fed), ()),
    );
    // Let Kenya complete sync sessions with both Chinese nodes after the publish.
    let sessions = |n: usize, peer: &str| {
        f.node(n).peer_info(peer)["sync"]["sessions"]
            .as_u64()
            .unwrap_or(0)
    };
    let (s0, s1) = (
        sessions(2, &f.members[0].peer_id),
        sessions(2, &f.members[1].peer_id),
    );
    wait_until(
        "two more sync sessions from Kenya with each Chinese node",
        DEADLINE,
        || {
            let now = (
                sessions(2, &f.members[0].peer_id),
                sessions(2, &f.members[1].peer_id),
            );
            (now.0 >= s0 + 2 && now.1 >= s1 + 2, now)
        },
    );
    assert!(
        !f.node(2).has(&national),
        "a national entry reached a foreign member"
    );
    assert_eq!(f.node(2).total(), 2);
    // Kenya's own national entry stays in Kenya as well.
    let ke_nat = f.node(2).publish(&crate::entry("ke-nat", "national"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ke_fed = f.node(2).publish(&crate::entry("ke-fed", "federation"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until("Kenya's federation entry in China", DEADLINE, || {
        (f.node(0).has(&ke_fed) && f.node(1).has(&ke_fed), ())
    });
    let (s0, s1) = (
        sessions(0, &f.members[2].peer_id),
        sessions(1, &f.members[2].peer_id),
    );
    wait_until("more sync sessions with Kenya", DEADLINE, || {
        let now = (
            sessions(0, &f.members[2].peer_id),
            sessions(1, &f.members[2].peer_id),
        );
        (now.0 >= s0 + 2 && now.1 >= s1 + 2, now)
    });
    assert!(!f.node(0).has(&ke_nat) && !f.node(1).has(&ke_nat));
}

#[test]
fn a_new_version_may_widen_its_scope_but_never_narrow_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("n");
    techmesh_tests::cli(&d, &["init"]).ok();
    let file = tmp.path().join("e.json");
    let publish = |scope: &str| {
        std::fs::write(&file, crate::entry("scoped", scope).to_string()).unwrap();
        techmesh_tests::cli(&d, &["publish", file.to_str().unwrap()])
    };
    publish("national").ok();
    publish("international").ok();
    let narrowed = publish("national");
    assert_eq!(narrowed.code, 1);
    assert!(
        narrowed
            .stderr
            .contains("scope cannot change from international to national"),
        "{}",
        narrowed.stderr
    );
    let got = techmesh_tests::cli(&d, &["get", "scoped"]).ok().json();
    assert_eq!(got["record"]["body"]["scope"], "international");
}

/// Three Chinese nodes in a line, Hubei (0) – Wuhan (1) – Xiangyang (2): all Xiangyang
/// hears of Hubei's records passes through Wuhan. Wuhan's heartbeat is ten minutes,
/// so a peer that gets into one of its meshes stays there for the whole test (a
/// heartbeat is what prunes a peer scored down): the window a relay must not leak
/// through. Returns the federation, not started.
fn line_with_slow_relay() -> Federation {
    let f = Federation::init(
        &[
            Spec::new("hubei", "CN"),
            Spec::new("wuhan", "CN"),
            Spec::new("xiangyang", "CN"),
        ],
        &[(0, 1), (1, 2)],
    );
    let toml = f.members[1].dir.join("node.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    assert!(text.contains("heartbeat_ms = 200"), "{text}");
    std::fs::write(
        &toml,
        text.replace("heartbeat_ms = 200", "heartbeat_ms = 600000"),
    )
    .unwrap();
    f
}

/// Wuhan's trust list with Xiangyang's `receive_scopes` without `national`.
fn without_national_for_xiangyang(f: &Federation) -> String {
    let text = f.trust_text(1);
    let named = "name = \"xiangyang\"\n";
    assert!(text.contains(named), "{text}");
    text.replace(
        named,
        &format!("{named}receive_scopes = [\"federation\", \"international\"]\n"),
    )
}

/// Publish national records on Hubei one by one, each waited for on Wuhan (so most
/// of them reach Wuhan by gossip and are validated there, when a relay forwards),
/// then one international record. Returns (national ids, international id).
fn publish_through_the_relay(f: &Federation, tag: &str) -> (Vec<String>, String) {
    let national: Vec<String> = (0..4)
        .map(|k| {
            let id = f
                .node(0)
                .publish(&crate::entry(&format!("{tag}-nat-{k}"), "national"))["id"]
                .as_str()
                .unwrap()
                .to_string();
            wait_until("the national record on Wuhan", DEADLINE, || {
                (f.node(1).has(&id), ())
            });
            id
        })
        .collect();
    let intl = f
        .node(0)
        .publish(&crate::entry(&format!("{tag}-intl"), "international"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    (national, intl)
}

/// Xiangyang gets the international record (gossip or sync), then completes two
/// more sync sessions with Wuhan; it must hold none of `national`.
fn assert_national_never_reached_xiangyang(f: &Federation, national: &[String], intl: &str) {
    wait_until("the international record on Xiangyang", DEADLINE, || {
        (f.node(2).has(intl), ())
    });
    let wuhan = f.members[1].peer_id.clone();
    let sessions = || {
        f.node(2).peer_info(&wuhan)["sync"]["sessions"]
            .as_u64()
            .unwrap_or(0)
    };
    let s0 = sessions();
    wait_until(
        "two more sync sessions of Xiangyang with Wuhan",
        DEADLINE,
        || (sessions() >= s0 + 2, sessions()),
    );
    let leaked: Vec<&String> = national.iter().filter(|id| f.node(2).has(id)).collect();
    assert!(
        leaked.is_empty(),
        "national records reached a member not entitled to them: {leaked:?}\nWUHAN LOG:\n{}",
        f.node(1).log()
    );
}

#[test]
fn a_member_without_national_never_gets_it_by_gossip_even_before_a_heartbeat() {
    // Xiangyang is Chinese, so (as every honest node) it subscribes to the Chinese
    // national topic; Wuhan admits it without `national`.
    let mut f = line_with_slow_relay();
    std::fs::write(
        f.members[1].dir.join("trust.toml"),
        without_national_for_xiangyang(&f),
    )
    .unwrap();
    let c = start_line(&mut f);
    wait_until(
        "Wuhan saw Xiangyang subscribe to the national topic",
        DEADLINE,
        || (denied_national(&f, &c), ()),
    );
    let (national, intl) = publish_through_the_relay(&f, "scope-win");
    assert_national_never_reached_xiangyang(&f, &national, &intl);
}

#[test]
fn narrowing_a_members_scopes_stops_national_gossip_to_it_at_once() {
    // Xiangyang starts entitled (and in Wuhan's national mesh); then Wuhan's operator
    // drops `national` from its receive_scopes. The mesh still holds it until the
    // next heartbeat (ten minutes here): nothing national may be forwarded to it.
    let mut f = line_with_slow_relay();
    let c = start_line(&mut f);
    let first = f
        .node(0)
        .publish(&crate::entry("narrow-before", "national"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until("the first national record on Xiangyang", DEADLINE, || {
        (f.node(2).has(&first), ())
    });
    std::fs::write(
        f.members[1].dir.join("trust.toml"),
        without_national_for_xiangyang(&f),
    )
    .unwrap();
    f.node(1).hup();
    wait_until("Wuhan applied the narrowed scopes", DEADLINE, || {
        (denied_national(&f, &c), ())
    });
    let (national, intl) = publish_through_the_relay(&f, "narrow");
    assert_national_never_reached_xiangyang(&f, &national, &intl);
}

/// Has the relay (node 1) logged that `peer` subscribed to the national topic it may
/// not receive?
fn denied_national(f: &Federation, peer: &str) -> bool {
    f.node(1).log().lines().any(|l| {
        l.contains("peer subscribed to a topic it may not receive")
            && l.contains(peer)
            && l.contains("national/CN")
    })
}

/// Start the three nodes of the line and wait until the relay (Wuhan) is connected
/// to both ends; returns Xiangyang's peer id.
fn start_line(f: &mut Federation) -> String {
    for i in 0..3 {
        f.start_node(i);
    }
    let (a, c) = (f.members[0].peer_id.clone(), f.members[2].peer_id.clone());
    wait_until("Wuhan connected to both", DEADLINE, || {
        let got = f.node(1).connected();
        (got.contains(&a) && got.contains(&c), got)
    });
    c
}
