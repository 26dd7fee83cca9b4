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
