//! Federation anchors: merging anchors' signed membership lists into the local
//! trust list, and explaining which rule admitted or refused a key or peer id.
//!
//! effective = local `[[member]]`s
//!           ∪ (members listed by trusted anchors, each clipped to its anchor's limits)
//!           − local `[[deny]]`s
//!
//! A local deny always wins (over anchor lists and, in a hand-built list, over
//! local members); a local member always wins over a listing with the same name,
//! key or peer id (a local allow can add or override); between two anchors the one
//! named first in `trust.toml` wins. Every listing that is not admitted is kept in
//! [`TrustList::refused`] with the rule that set it aside.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{LocalNode, Member, Roles, ScopeName, TrustList};
use crate::body::membership::{parse_scheme_pair, ListedMember, ListedRole, MembershipList};
use crate::record::PublicKey;

/// A federation anchor the local administrator trusts (`[[anchor]]`), and the most
/// it may grant: an anchor can never grant more than these limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub name: String,
    pub publisher_key: PublicKey,
    /// Roles (and mapping pairs) the anchor may grant.
    pub max_roles: Roles,
    /// Scopes its members may be granted to receive.
    pub max_receive_scopes: BTreeSet<ScopeName>,
}

/// A local deny (`[[deny]]`): matches a member by name, by publisher key or by peer
/// id (each given field is one way to match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deny {
    pub name: Option<String>,
    pub publisher_key: Option<PublicKey>,
    pub peer_id: Option<String>,
    pub reason: Option<String>,
}

impl Deny {
    pub fn matches(&self, m: &Member) -> bool {
        self.name.as_deref() == Some(m.name.as_str())
            || self
                .publisher_key
                .is_some_and(|k| m.publisher_keys.contains(&k))
            || self
                .peer_id
                .as_ref()
                .is_some_and(|p| m.peer_ids.contains(p))
    }

    /// `local rule deny[i] (reason)`, for messages.
    pub fn describe(&self, i: usize) -> String {
        match &self.reason {
            Some(r) => format!("local rule deny[{i}] ({r})"),
            None => format!("local rule deny[{i}]"),
        }
    }
}

/// Where an admitted member comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Source {
    /// A `[[member]]` of the local `trust.toml`.
    #[default]
    Local,
    /// A member listed by an anchor's membership record.
    Anchor {
        anchor: String,
        local_id: String,
        seq: u64,
        /// What the listing granted beyond the anchor's limits (not granted here).
        clipped: Vec<String>,
    },
}

impl Source {
    /// The rule, in words: `local member "X"` or `anchor "A" list L seq N`.
    pub fn rule(&self, member: &str) -> String {
        match self {
            Source::Local => format!("local member {member:?} (trust.toml [[member]])"),
            Source::Anchor {
                anchor,
                local_id,
                seq,
                ..
            } => format!("anchor {anchor:?} list {local_id} seq {seq}"),
        }
    }

    pub fn to_json(&self, member: &str) -> Value {
        match self {
            Source::Local => json!({"rule": self.rule(member), "kind": "local"}),
            Source::Anchor {
                anchor,
                local_id,
                seq,
                clipped,
            } => json!({
                "rule": self.rule(member), "kind": "anchor", "anchor": anchor,
                "list": local_id, "seq": seq, "clipped": clipped,
            }),
        }
    }
}

/// A member an anchor listed that is not admitted, and the rule that set it aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedListing {
    pub name: String,
    pub publisher_keys: Vec<PublicKey>,
    pub peer_ids: Vec<String>,
    /// Which listing: `anchor "A" list L seq N`.
    pub listed_by: String,
    /// The rule: `local rule deny[0] (...)`, `local member "X" overrides it`, ...
    pub rule: String,
}

impl RefusedListing {
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "publisher_keys": self.publisher_keys.iter().map(|k| k.to_hex()).collect::<Vec<_>>(),
            "peer_ids": self.peer_ids,
            "listed_by": self.listed_by,
            "rule": self.rule,
        })
    }
}

/// One stored membership record of an anchor.
#[derive(Debug, Clone, Copy)]
pub struct AnchorList<'a> {
    pub publisher: PublicKey,
    pub seq: u64,
    pub list: &'a MembershipList,
}

impl Roles {
    /// The role names of `trust.toml` (`publish_entries`, `publish_events`, `observer`).
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.publish_entries {
            v.push("publish_entries");
        }
        if self.publish_events {
            v.push("publish_events");
        }
        if self.observer {
            v.push("observer");
        }
        v
    }
}

impl ScopeName {
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeName::Federation => "federation",
            ScopeName::National => "national",
            ScopeName::International => "international",
        }
    }
}

/// A listed member as a [`Member`], clipped to `anchor`'s limits; what was clipped
/// is returned in words.
fn admit(anchor: &Anchor, l: &ListedMember, local_id: &str, seq: u64) -> Member {
    let max = &anchor.max_roles;
    let mut roles = Roles::default();
    let mut clipped = Vec::new();
    for r in &l.roles {
        let allowed = match r {
            ListedRole::PublishEntries => max.publish_entries,
            ListedRole::PublishEvents => max.publish_events,
            ListedRole::Observer => max.observer,
        };
        if !allowed {
            clipped.push(format!("role {}", r.as_str()));
            continue;
        }
        match r {
            ListedRole::PublishEntries => roles.publish_entries = true,
            ListedRole::PublishEvents => roles.publish_events = true,
            ListedRole::Observer => roles.observer = true,
        }
    }
    for p in &l.publish_mappings {
        match parse_scheme_pair(p) {
            Some(pair) if max.publish_mappings.contains(&pair) => {
                roles.publish_mappings.insert(pair);
            }
            _ => clipped.push(format!("publish_mappings {p}")),
        }
    }
    let mut receive_scopes = BTreeSet::new();
    for s in &l.receive_scopes {
        let s = ScopeName::from(*s);
        if anchor.max_receive_scopes.contains(&s) {
            receive_scopes.insert(s);
        } else {
            clipped.push(format!("receive_scopes {}", s.as_str()));
        }
    }
    Member {
        name: l.name.clone(),
        country: l.country.clone(),
        region: l.region.clone(),
        // Validated by the body rules; a key that does not parse is skipped.
        publisher_keys: l
            .publisher_keys
            .iter()
            .filter_map(|k| PublicKey::from_hex(k))
            .collect(),
        peer_ids: l.peer_ids.clone(),
        addresses: l.addresses.clone(),
        roles,
        receive_scopes,
        source: Source::Anchor {
            anchor: anchor.name.clone(),
            local_id: local_id.to_string(),
            seq,
            clipped,
        },
        ..Member::default()
    }
}

/// Does `a` share a name, key or peer id with `b`?
fn overlaps(a: &Member, b: &Member) -> bool {
    a.name == b.name
        || a.publisher_keys
            .iter()
            .any(|k| b.publisher_keys.contains(k))
        || a.peer_ids.iter().any(|p| b.peer_ids.contains(p))
}

impl TrustList {
    pub fn anchor_by_key(&self, key: &PublicKey) -> Option<&Anchor> {
        self.anchors.iter().find(|a| a.publisher_key == *key)
    }

    /// The deny (and its index) naming this publisher key, if any.
    pub fn deny_of_key(&self, key: &PublicKey) -> Option<(usize, &Deny)> {
        self.denies
            .iter()
            .enumerate()
            .find(|(_, d)| d.publisher_key == Some(*key))
    }

    /// Why an unlisted `key` is refused, when a rule set its listing aside.
    pub fn refusal_of_key(&self, key: &PublicKey) -> Option<String> {
        self.refused
            .iter()
            .find(|r| r.publisher_keys.contains(key))
            .map(|r| format!("listed by {} but set aside: {}", r.listed_by, r.rule))
    }

    fn deny_of_peer(&self, peer: &str) -> Option<(usize, &Deny)> {
        self.denies
            .iter()
            .enumerate()
            .find(|(_, d)| d.peer_id.as_deref() == Some(peer))
    }

    /// The effective list: `self` is the local list (as parsed from `trust.toml`),
    /// `lists` the stored membership records (any publisher: those of keys that are
    /// not anchors here are ignored). Pure and deterministic: anchors in file order,
    /// each anchor's lists in `local_id` order.
    pub fn with_anchor_lists(&self, lists: &[AnchorList<'_>]) -> TrustList {
        let mut out = TrustList {
            members: Vec::new(),
            anchors: self.anchors.clone(),
            denies: self.denies.clone(),
            refused: Vec::new(),
        };
        let deny_of = |m: &Member| self.denies.iter().enumerate().find(|(_, d)| d.matches(m));
        let mut local = Vec::new();
        for m in &self.members {
            match deny_of(m) {
                Some((i, d)) => out.refused.push(RefusedListing {
                    name: m.name.clone(),
                    publisher_keys: m.publisher_keys.clone(),
                    peer_ids: m.peer_ids.clone(),
                    listed_by: m.source.rule(&m.name),
                    rule: d.describe(i),
                }),
                None => local.push(m.clone()),
            }
        }
        let mut listed: Vec<Member> = Vec::new();
        for anchor in &self.anchors {
            if self.deny_of_key(&anchor.publisher_key).is_some() {
                continue; // a denied anchor's lists are not read at all
            }
            let mut mine: Vec<&AnchorList<'_>> = lists
                .iter()
                .filter(|l| l.publisher == anchor.publisher_key)
                .collect();
            mine.sort_by(|a, b| a.list.local_id.cmp(&b.list.local_id));
            for al in mine {
                for l in &al.list.members {
                    let m = admit(anchor, l, &al.list.local_id, al.seq);
                    let refuse = |rule: String| RefusedListing {
                        name: m.name.clone(),
                        publisher_keys: m.publisher_keys.clone(),
                        peer_ids: m.peer_ids.clone(),
                        listed_by: m.source.rule(&m.name),
                        rule,
                    };
                    if let Some((i, d)) = deny_of(&m) {
                        out.refused.push(refuse(d.describe(i)));
                    } else if let Some(l) = local.iter().find(|l| overlaps(l, &m)) {
                        out.refused.push(refuse(format!(
                            "local member {:?} overrides it (same name, key or peer id)",
                            l.name
                        )));
                    } else if let Some(e) = listed.iter().find(|e| overlaps(e, &m)) {
                        out.refused.push(refuse(format!(
                            "already admitted by {} (same name, key or peer id)",
                            e.source.rule(&e.name)
                        )));
                    } else {
                        listed.push(m);
                    }
                }
            }
        }
        out.members = local;
        out.members.extend(listed);
        out
    }

    /// Which rule admits or refuses `subject` (a publisher key as 64 hex digits, or
    /// a peer id), with the roles and scopes it is granted.
    pub fn explain(&self, local: &LocalNode, subject: &str) -> Value {
        let key = PublicKey::from_hex(subject);
        let answer = |admitted: bool, rule: String| json!({"subject": subject, "admitted": admitted, "rule": rule});
        if key == Some(local.publisher) {
            return answer(true, "this node's own publisher key".into());
        }
        let denied = match key {
            Some(k) => self.deny_of_key(&k),
            None => self.deny_of_peer(subject),
        };
        if let Some((i, d)) = denied {
            return answer(false, format!("refused by {}", d.describe(i)));
        }
        let member = match key {
            Some(k) => self.member_by_key(&k),
            None => self.member_by_peer(subject),
        };
        let anchor = key.and_then(|k| self.anchor_by_key(&k)).map(|a| {
            format!(
                "anchor {:?} (trust.toml [[anchor]]): its membership lists are imported",
                a.name
            )
        });
        if let Some(m) = member {
            let mut v = answer(true, format!("admitted by {}", m.source.rule(&m.name)));
            v["member"] = json!(m.name);
            v["source"] = m.source.to_json(&m.name);
            v["roles"] = json!(m.roles.names());
            v["publish_mappings"] = json!(m
                .roles
                .publish_mappings
                .iter()
                .map(|(a, b)| format!("{}->{}", a.as_str(), b.as_str()))
                .collect::<Vec<_>>());
            v["receive_scopes"] = json!(m
                .receive_scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>());
            if let Some(r) = key.and_then(|k| m.revoked.iter().find(|r| r.key == k)) {
                v["revoked_as_of"] = json!(r.as_of.to_string());
            }
            if let Some(a) = anchor {
                v["anchor"] = json!(a);
            }
            return v;
        }
        if let Some(a) = anchor {
            let mut v = answer(true, format!("admitted as {a}; it is not a member itself (its peers may not connect unless listed)"));
            v["anchor"] = json!(a);
            return v;
        }
        let refused = self.refused.iter().find(|r| match key {
            Some(k) => r.publisher_keys.contains(&k),
            None => r.peer_ids.iter().any(|p| p == subject),
        });
        if let Some(r) = refused {
            let mut v = answer(
                false,
                format!("listed by {} but refused: {}", r.listed_by, r.rule),
            );
            v["member"] = json!(r.name);
            return v;
        }
        answer(
            false,
            "not in the trust list: no local member, anchor or anchor list names it".into(),
        )
    }
}

#[cfg(test)]
#[path = "anchor_tests.rs"]
mod tests;
