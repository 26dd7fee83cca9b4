//! The `membership` body: a signed membership list published by a federation
//! anchor (e.g. a provincial hub). A node whose trust list names the anchor admits
//! the members listed here, within the limits it sets for that anchor
//! (`trust::anchors`). It is a record like any other: replaced by a newer seq,
//! withdrawn by a tombstone, gossiped on the federation topic.
//!
//! Normal form: `roles`, `publish_mappings` and `receive_scopes` are sorted and
//! without duplicates; empty optional lists are left out; `receive_scopes` is
//! always written (an empty list means "receives nothing").

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::common::{is_region_of, Checker, Scope};
use crate::codes::Scheme;
use crate::record::PublicKey;

/// Bounds of one list (a list must also fit in one record, `MAX_RECORD_BYTES`).
pub const MAX_LISTED_MEMBERS: usize = 200;
pub const MAX_KEYS_PER_MEMBER: usize = 4;
pub const MAX_PEER_IDS_PER_MEMBER: usize = 4;
pub const MAX_ADDRESSES_PER_MEMBER: usize = 8;
pub const MAX_NAME_CHARS: usize = 256;
pub const MAX_ADDRESS_CHARS: usize = 256;

/// A role an anchor may grant (the vocabulary of `roles` in `trust.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListedRole {
    PublishEntries,
    PublishEvents,
    Observer,
}

impl ListedRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ListedRole::PublishEntries => "publish_entries",
            ListedRole::PublishEvents => "publish_events",
            ListedRole::Observer => "observer",
        }
    }
}

/// One member as the anchor lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListedMember {
    pub name: String,
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Publisher keys, 64 lowercase hex digits each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publisher_keys: Vec<String>,
    /// libp2p peer ids (base58).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peer_ids: Vec<String>,
    /// Where to dial it (multiaddrs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<ListedRole>,
    /// Scheme pairs such as `gbt4754->nace2` the member is a mapping authority for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publish_mappings: Vec<String>,
    pub receive_scopes: Vec<Scope>,
}

/// The body: an anchor's federation and the members it vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipList {
    pub local_id: String,
    /// The federation the anchor speaks for, e.g. "Hubei Technology Federation".
    pub federation: String,
    pub members: Vec<ListedMember>,
}

/// libp2p peer id as text: base58, 40–60 characters (this crate knows no libp2p).
pub fn is_peer_id(s: &str) -> bool {
    const B58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    (40..=60).contains(&s.len()) && s.chars().all(|c| B58.contains(c))
}

/// A publisher key as text: 64 lowercase hex digits.
pub fn is_key_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `subject->object` with two known schemes.
pub fn parse_scheme_pair(s: &str) -> Option<(Scheme, Scheme)> {
    let (a, b) = s.split_once("->")?;
    Scheme::parse(a).zip(Scheme::parse(b))
}

fn scope_rank(s: &Scope) -> u8 {
    match s {
        Scope::Federation => 0,
        Scope::National => 1,
        Scope::International => 2,
    }
}

/// Sorted and without duplicates under `key`?
fn strictly_sorted<T, K: Ord>(items: &[T], key: impl Fn(&T) -> K) -> bool {
    items.windows(2).all(|w| key(&w[0]) < key(&w[1]))
}

impl ListedMember {
    fn normalise(&mut self) {
        self.roles.sort();
        self.roles.dedup();
        self.publish_mappings.sort();
        self.publish_mappings.dedup();
        self.receive_scopes.sort_by_key(scope_rank);
        self.receive_scopes.dedup();
        self.name = self.name.trim().to_string();
    }

    fn check(&self, c: &mut Checker, p: &str) {
        c.text(&format!("{p}.name"), &self.name, MAX_NAME_CHARS);
        c.ensure(self.name.trim() == self.name, &format!("{p}.name"), || {
            "has leading or trailing spaces".into()
        });
        c.country(&format!("{p}.country"), &self.country);
        if let Some(r) = &self.region {
            c.ensure(
                is_region_of(r, &self.country),
                &format!("{p}.region"),
                || format!("{r:?} is not an ISO 3166-2 region of {}", self.country),
            );
        }
        if self.publisher_keys.is_empty() && self.peer_ids.is_empty() {
            c.fail(
                p.to_string(),
                "lists neither publisher_keys nor peer_ids: nothing would be admitted",
            );
        }
        c.max_items(
            &format!("{p}.publisher_keys"),
            &self.publisher_keys,
            MAX_KEYS_PER_MEMBER,
        );
        for (i, k) in self.publisher_keys.iter().enumerate() {
            let path = format!("{p}.publisher_keys[{i}]");
            match PublicKey::from_hex(k).filter(|_| is_key_hex(k)) {
                None => c.fail(
                    path,
                    format!("{k:?} is not a publisher key (64 lowercase hex digits)"),
                ),
                Some(key) => {
                    if let Err(e) = key.check_point() {
                        c.fail(path, e.to_string());
                    }
                }
            }
        }
        c.max_items(
            &format!("{p}.peer_ids"),
            &self.peer_ids,
            MAX_PEER_IDS_PER_MEMBER,
        );
        for (i, id) in self.peer_ids.iter().enumerate() {
            c.ensure(is_peer_id(id), &format!("{p}.peer_ids[{i}]"), || {
                format!("{id:?} is not a libp2p peer id (base58, e.g. 12D3KooW...)")
            });
        }
        c.max_items(
            &format!("{p}.addresses"),
            &self.addresses,
            MAX_ADDRESSES_PER_MEMBER,
        );
        for (i, a) in self.addresses.iter().enumerate() {
            let ok = a.starts_with('/')
                && a.len() <= MAX_ADDRESS_CHARS
                && !a.chars().any(|ch| ch.is_whitespace() || ch.is_control());
            c.ensure(ok, &format!("{p}.addresses[{i}]"), || {
                format!("{a:?} is not a multiaddr such as /ip4/192.0.2.10/tcp/7700")
            });
        }
        c.ensure(
            strictly_sorted(&self.roles, |r| *r),
            &format!("{p}.roles"),
            || "must be sorted and without duplicates".into(),
        );
        if self.roles.contains(&ListedRole::Observer)
            && (self.roles.len() > 1 || !self.publish_mappings.is_empty())
        {
            c.fail(format!("{p}.roles"), "an observer may not also publish");
        }
        for (i, m) in self.publish_mappings.iter().enumerate() {
            c.ensure(
                parse_scheme_pair(m).is_some(),
                &format!("{p}.publish_mappings[{i}]"),
                || format!("{m:?} is not a scheme pair such as \"gbt4754->nace2\""),
            );
        }
        c.ensure(
            strictly_sorted(&self.publish_mappings, |m| m.clone()),
            &format!("{p}.publish_mappings"),
            || "must be sorted and without duplicates".into(),
        );
        c.ensure(
            strictly_sorted(&self.receive_scopes, scope_rank),
            &format!("{p}.receive_scopes"),
            || {
                "must be in the order federation, national, international, without duplicates"
                    .into()
            },
        );
    }
}

impl MembershipList {
    pub fn normalise(&mut self) {
        self.federation = self.federation.trim().to_string();
        self.members.iter_mut().for_each(ListedMember::normalise);
    }

    pub fn check(&self, c: &mut Checker) {
        c.local_id("local_id", &self.local_id);
        c.text("federation", &self.federation, MAX_NAME_CHARS);
        c.max_items("members", &self.members, MAX_LISTED_MEMBERS);
        let mut names = BTreeSet::new();
        let mut keys = BTreeSet::new();
        let mut peers = BTreeSet::new();
        for (i, m) in self.members.iter().enumerate() {
            let p = format!("members[{i}]");
            m.check(c, &p);
            if !names.insert(m.name.as_str()) {
                c.fail(format!("{p}.name"), format!("{:?} is listed twice", m.name));
            }
            for (j, k) in m.publisher_keys.iter().enumerate() {
                if !keys.insert(k.as_str()) {
                    c.fail(
                        format!("{p}.publisher_keys[{j}]"),
                        format!("key {k} is listed twice"),
                    );
                }
            }
            for (j, id) in m.peer_ids.iter().enumerate() {
                if !peers.insert(id.as_str()) {
                    c.fail(
                        format!("{p}.peer_ids[{j}]"),
                        format!("peer id {id} is listed twice"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::body::{prepare, Body, Kind};

    fn key(n: u8) -> String {
        crate::record::Keypair::from_seed(&[n; 32])
            .public()
            .to_hex()
    }

    #[test]
    fn normal_form_and_errors_name_the_field() {
        let v = json!({"local_id": "hubei", "federation": "Hubei", "members": [
            {"name": "Wuhan", "country": "CN", "region": "CN-HB", "publisher_keys": [key(2)],
             "roles": ["publish_events", "publish_entries"],
             "receive_scopes": ["national", "federation"]}
        ]});
        let body = prepare(Kind::Membership, &v).unwrap();
        let normal = body.to_json();
        assert_eq!(
            normal["members"][0]["roles"],
            json!(["publish_entries", "publish_events"])
        );
        assert_eq!(
            normal["members"][0]["receive_scopes"],
            json!(["federation", "national"])
        );
        assert!(Body::from_json(Kind::Membership, &normal).is_ok());
        // Receivers require normal form.
        let e = Body::from_json(Kind::Membership, &v)
            .unwrap_err()
            .to_string();
        assert!(e.contains("members[0].roles"), "{e}");
        assert_eq!(crate::body::detect_kind(&v), Kind::Membership);

        let bad = json!({"local_id": "hubei", "federation": "Hubei", "members": [
            {"name": "A", "country": "CN", "publisher_keys": [key(2)], "receive_scopes": []},
            {"name": "B", "country": "XX", "region": "CN-HB",
             "publisher_keys": [key(3), "ABC", key(2)], "peer_ids": ["not-a-peer"],
             "addresses": ["tcp 7700"], "roles": ["observer", "publish_entries"],
             "publish_mappings": ["gbt4754=nace2"], "receive_scopes": ["federation"]},
            {"name": "A", "country": "CN", "receive_scopes": []}
        ]});
        let e = prepare(Kind::Membership, &bad).unwrap_err().to_string();
        for want in [
            "members[1].country: \"XX\" is not an ISO 3166-1",
            "members[1].region:",
            "members[1].publisher_keys[1]: \"ABC\" is not a publisher key",
            "members[1].peer_ids[0]:",
            "members[1].addresses[0]:",
            "members[1].roles: an observer may not also publish",
            "members[1].publish_mappings[0]:",
            "members[1].publisher_keys[2]: key",
            "members[2].name: \"A\" is listed twice",
            "members[2]: lists neither publisher_keys nor peer_ids",
        ] {
            assert!(e.contains(want), "missing {want:?} in {e}");
        }
        let weak = json!({"local_id": "x", "federation": "F", "members": [
            {"name": "A", "country": "CN", "publisher_keys": ["0".repeat(64)], "receive_scopes": []}
        ]});
        let e = prepare(Kind::Membership, &weak).unwrap_err().to_string();
        assert!(e.starts_with("members[0].publisher_keys[0]:"), "{e}");
    }
}
