//! [`Policy`] (one trust list, a publisher looked up once per run of its records)
//! decides every record exactly as [`TrustList::accept`] with nothing remembered,
//! whatever order the publishers come in.

use serde_json::json;

use super::*;
use crate::body::{prepare, Kind};
use crate::record::Keypair;

fn kp(n: u8) -> Keypair {
    Keypair::from_seed(&[n; 32])
}

fn member(name: &str, key: u8, country: &str) -> Member {
    Member {
        name: name.into(),
        country: country.into(),
        publisher_keys: vec![kp(key).public()],
        roles: Roles {
            publish_entries: true,
            ..Roles::default()
        },
        receive_scopes: ScopeName::all(),
        ..Member::default()
    }
}

/// Every kind of answer: our own records, members of two countries, a denied
/// member, a revoked key, an unknown key, an anchor and a non-anchor publishing
/// membership lists, international and national entries.
fn records() -> (TrustList, LocalNode, Vec<Record>) {
    let local = LocalNode {
        publisher: kp(1).public(),
        country: "CN".into(),
    };
    let mut revoked = member("Revoked", 5, "CN");
    revoked.revoked.push(Revocation {
        key: kp(5).public(),
        as_of: Timestamp(1_800_000_000),
        max_seq: None,
        reason: None,
    });
    let trust = TrustList {
        members: vec![
            member("Wuhan", 2, "CN"),
            member("Berlin", 3, "DE"),
            member("Denied", 4, "CN"),
            revoked,
        ],
        anchors: vec![Anchor {
            name: "Hub".into(),
            publisher_key: kp(9).public(),
            max_roles: Roles::default(),
            max_receive_scopes: ScopeName::all(),
        }],
        denies: vec![Deny {
            publisher_key: Some(kp(4).public()),
            ..Deny::default()
        }],
        refused: Vec::new(),
    };
    let entry = |scope: &str| {
        let mut v = crate::vectors::sample_entry();
        v["scope"] = json!(scope);
        prepare(Kind::Entry, &v).unwrap()
    };
    let list = prepare(
        Kind::Membership,
        &json!({"local_id": "hub", "federation": "Hub", "members": []}),
    )
    .unwrap();
    let mut out = Vec::new();
    for key in [1, 2, 3, 4, 5, 6, 9] {
        for (seq, at) in [(1, 1_700_000_000), (2, 1_900_000_000)] {
            for body in [entry("international"), entry("national"), list.clone()] {
                out.push(kp(key).sign(seq, Timestamp(at), body).unwrap());
            }
        }
    }
    (trust, local, out)
}

#[test]
fn a_batch_policy_decides_as_accept_in_any_order() {
    let (trust, local, records) = records();
    let fresh: Vec<_> = records.iter().map(|r| trust.accept(&local, r)).collect();
    // The list gives every kind of answer.
    let reasons: BTreeSet<&str> = fresh
        .iter()
        .map(|d| d.as_ref().map_or_else(|e| e.reason(), |_| "accepted"))
        .collect();
    assert_eq!(
        reasons,
        [
            "accepted",
            "denied",
            "key_revoked",
            "not_an_anchor",
            "out_of_scope",
            "unknown_publisher"
        ]
        .into()
    );
    // In runs of one publisher, and interleaved (a different publisher each time).
    let n = records.len();
    for stride in [1, 2, 3, 5, 7, 11] {
        let order: Vec<usize> = (0..n).map(|i| (i * stride) % n).collect();
        if stride > 1 && n % stride == 0 {
            continue;
        }
        let mut policy = trust.policy(&local);
        for i in order {
            assert_eq!(
                policy.accept(&records[i]),
                fresh[i],
                "record {i}, stride {stride}"
            );
        }
    }
}
