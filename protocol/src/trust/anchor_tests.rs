//! The merge of anchors' lists into the local trust list: a local deny wins, a
//! local member adds and overrides, anchor limits clip, and acceptance follows.

use serde_json::json;

use super::*;
use crate::body::{prepare, Kind};
use crate::codes::Scheme;
use crate::record::Keypair;
use crate::time::Timestamp;
use crate::trust::TrustList;

const PEER_M: &str = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

fn kp(n: u8) -> Keypair {
    Keypair::from_seed(&[n; 32])
}

fn me() -> LocalNode {
    LocalNode {
        publisher: kp(1).public(),
        country: "CN".into(),
    }
}

fn listed(name: &str, key: u8, roles: &[&str], scopes: &[&str]) -> serde_json::Value {
    json!({
        "name": name, "country": "CN",
        "publisher_keys": [kp(key).public().to_hex()],
        "roles": roles, "receive_scopes": scopes,
    })
}

fn list_body(members: Vec<serde_json::Value>) -> MembershipList {
    let v = json!({"local_id": "hubei", "federation": "Hubei Federation", "members": members});
    match prepare(Kind::Membership, &v).unwrap() {
        crate::body::Body::Membership(m) => *m,
        _ => unreachable!(),
    }
}

/// Anchor H (key 9) may grant publish_entries and the federation scope only.
fn local_with_anchor() -> TrustList {
    TrustList {
        anchors: vec![Anchor {
            name: "Hubei Hub".into(),
            publisher_key: kp(9).public(),
            max_roles: Roles {
                publish_entries: true,
                ..Roles::default()
            },
            max_receive_scopes: [ScopeName::Federation].into(),
        }],
        ..TrustList::default()
    }
}

fn merged(local: &TrustList, list: &MembershipList) -> TrustList {
    local.with_anchor_lists(&[AnchorList {
        publisher: kp(9).public(),
        seq: 3,
        list,
    }])
}

fn entry_by(k: &Keypair) -> crate::record::Record {
    let body = prepare(Kind::Entry, &crate::vectors::sample_entry()).unwrap();
    k.sign(1, Timestamp(1_800_000_000), body).unwrap()
}

#[test]
fn listed_members_are_admitted_with_roles_clipped_to_the_anchor_limits() {
    let list = list_body(vec![listed(
        "Wuhan Exchange",
        5,
        &["publish_entries", "publish_events"],
        &["federation", "national"],
    )]);
    let t = merged(&local_with_anchor(), &list);
    let m = t.member_by_key(&kp(5).public()).expect("admitted");
    assert!(m.roles.publish_entries && !m.roles.publish_events);
    assert_eq!(m.receive_scopes, [ScopeName::Federation].into());
    match &m.source {
        Source::Anchor {
            anchor,
            seq,
            clipped,
            ..
        } => {
            assert_eq!((anchor.as_str(), *seq), ("Hubei Hub", 3));
            assert_eq!(clipped, &["role publish_events", "receive_scopes national"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.accept(&me(), &entry_by(&kp(5))), Ok(()));
    let e = t.explain(&me(), &kp(5).public().to_hex());
    assert_eq!(e["admitted"], true);
    assert_eq!(
        e["rule"],
        "admitted by anchor \"Hubei Hub\" list hubei seq 3"
    );
    assert_eq!(e["roles"], json!(["publish_entries"]));
    // Without the anchor's list, the same member is unknown.
    assert_eq!(
        local_with_anchor()
            .accept(&me(), &entry_by(&kp(5)))
            .unwrap_err()
            .reason(),
        "unknown_publisher"
    );
}

#[test]
fn a_local_deny_wins_over_the_anchor_list() {
    let list = list_body(vec![
        listed("Wuhan Exchange", 5, &["publish_entries"], &["federation"]),
        listed("Yichang Exchange", 6, &["publish_entries"], &["federation"]),
    ]);
    let mut local = local_with_anchor();
    local.denies.push(Deny {
        publisher_key: Some(kp(5).public()),
        reason: Some("contract ended".into()),
        ..Deny::default()
    });
    local.denies.push(Deny {
        name: Some("Yichang Exchange".into()),
        ..Deny::default()
    });
    let t = merged(&local, &list);
    assert!(t.members.is_empty(), "{:?}", t.members);
    assert_eq!(t.refused.len(), 2);
    let e = t.accept(&me(), &entry_by(&kp(5))).unwrap_err();
    assert_eq!(e.reason(), "denied");
    assert!(e.to_string().contains("deny[0] (contract ended)"), "{e}");
    // Denied by name: its key is refused with the rule that set the listing aside.
    let e = t.accept(&me(), &entry_by(&kp(6))).unwrap_err();
    assert!(
        e.to_string().contains(
            "listed by anchor \"Hubei Hub\" list hubei seq 3 but set aside: local rule deny[1]"
        ),
        "{e}"
    );
    let x = t.explain(&me(), &kp(5).public().to_hex());
    assert_eq!(x["admitted"], false);
    assert_eq!(x["rule"], "refused by local rule deny[0] (contract ended)");
    let x = t.explain(&me(), &kp(6).public().to_hex());
    assert_eq!(x["admitted"], false);
    assert_eq!(x["member"], "Yichang Exchange");
}

#[test]
fn a_local_member_adds_and_overrides_a_listing() {
    let list = list_body(vec![listed(
        "Wuhan Exchange",
        5,
        &["publish_entries"],
        &["federation"],
    )]);
    let mut local = local_with_anchor();
    // The local entry for the same key grants more than the anchor may.
    local.members.push(Member {
        name: "Wuhan (local)".into(),
        country: "CN".into(),
        publisher_keys: vec![kp(5).public()],
        roles: Roles {
            publish_entries: true,
            publish_events: true,
            ..Roles::default()
        },
        receive_scopes: ScopeName::all(),
        ..Member::default()
    });
    // And one member nobody lists.
    local.members.push(Member {
        name: "Nairobi".into(),
        country: "KE".into(),
        peer_ids: vec![PEER_M.into()],
        ..Member::default()
    });
    let t = merged(&local, &list);
    assert_eq!(t.members.len(), 2);
    let m = t.member_by_key(&kp(5).public()).unwrap();
    assert_eq!(m.source, Source::Local);
    assert!(m.roles.publish_events);
    assert!(t.refused[0]
        .rule
        .contains("local member \"Wuhan (local)\" overrides it"));
    let x = t.explain(&me(), PEER_M);
    assert_eq!(
        x["rule"],
        "admitted by local member \"Nairobi\" (trust.toml [[member]])"
    );
}

#[test]
fn only_anchors_may_publish_membership_lists_and_mapping_pairs_clip() {
    let local = local_with_anchor();
    let body = crate::body::Body::Membership(Box::new(list_body(vec![])));
    let by_anchor = kp(9)
        .sign(1, Timestamp(1_800_000_000), body.clone())
        .unwrap();
    assert_eq!(local.accept(&me(), &by_anchor), Ok(()));
    let by_other = kp(5).sign(1, Timestamp(1_800_000_000), body).unwrap();
    assert_eq!(
        local.accept(&me(), &by_other).unwrap_err().reason(),
        "not_an_anchor"
    );
    // A member that is not an anchor is refused the same way.
    let list = list_body(vec![listed(
        "Wuhan",
        5,
        &["publish_entries"],
        &["federation"],
    )]);
    let t = merged(&local, &list);
    let by_member = kp(5)
        .sign(
            2,
            Timestamp(1_800_000_000),
            crate::body::Body::Membership(Box::new(list.clone())),
        )
        .unwrap();
    assert_eq!(
        t.accept(&me(), &by_member).unwrap_err().reason(),
        "not_an_anchor"
    );
    // Mapping authority beyond the anchor's limit is clipped.
    let mut m = listed("GB", 7, &[], &["federation"]);
    m["publish_mappings"] = json!(["gbt4754->nace2"]);
    let t = merged(&local, &list_body(vec![m]));
    assert!(t.members[0].roles.publish_mappings.is_empty());
    let mut with_pair = local.clone();
    with_pair.anchors[0]
        .max_roles
        .publish_mappings
        .insert((Scheme::Gbt4754, Scheme::Nace2));
    let mut m = listed("GB", 7, &[], &["federation"]);
    m["publish_mappings"] = json!(["gbt4754->nace2"]);
    let t = merged(&with_pair, &list_body(vec![m]));
    assert_eq!(t.members[0].roles.publish_mappings.len(), 1);
}

#[test]
fn lists_of_unknown_or_denied_anchors_are_ignored() {
    let list = list_body(vec![listed(
        "Wuhan",
        5,
        &["publish_entries"],
        &["federation"],
    )]);
    let t = TrustList::default().with_anchor_lists(&[AnchorList {
        publisher: kp(9).public(),
        seq: 1,
        list: &list,
    }]);
    assert!(t.members.is_empty());
    let mut local = local_with_anchor();
    local.denies.push(Deny {
        publisher_key: Some(kp(9).public()),
        ..Deny::default()
    });
    assert!(merged(&local, &list).members.is_empty());
    // The anchor's own records are refused by the deny.
    let body = crate::body::Body::Membership(Box::new(list));
    let r = kp(9).sign(1, Timestamp(1_800_000_000), body).unwrap();
    assert_eq!(local.accept(&me(), &r).unwrap_err().reason(), "denied");
}
