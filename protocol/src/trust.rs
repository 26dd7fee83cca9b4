//! The trust list as data, and the one acceptance policy every path uses (gossip,
//! sync, query, local publish). Parsing the `trust.toml` file is techmesh-config's
//! job; deciding is here, pure, so it can be tested without a network.
//!
//! The list in force is the *effective* list: the local members of `trust.toml`,
//! plus the members listed by trusted federation anchors (clipped to the limits the
//! local administrator set for each anchor), minus local denies. [`anchors`]
//! computes it and explains, for any key or peer id, which rule admitted or refused
//! it.

pub mod anchors;
pub mod rotation;
pub mod topics;

pub use anchors::{Anchor, Deny, RefusedListing, Source};

use std::collections::BTreeSet;

use crate::body::{Body, Kind, Scope};
use crate::codes::Scheme;
use crate::record::{PublicKey, Record};
use crate::time::Timestamp;

/// What a member may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    pub publish_entries: bool,
    pub publish_events: bool,
    /// Scheme pairs (subject, object) the member is a recognised authority for.
    pub publish_mappings: BTreeSet<(Scheme, Scheme)>,
    /// Query-only observer: may ask, never replicates (receives no gossip or sync).
    pub observer: bool,
}

/// One admitted exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub country: String,
    pub region: Option<String>,
    pub publisher_keys: Vec<PublicKey>,
    /// libp2p peer ids (as text: this crate knows nothing of libp2p).
    pub peer_ids: Vec<String>,
    pub addresses: Vec<String>,
    pub roles: Roles,
    /// Scopes of records this member may receive. `national` additionally requires
    /// the member to be in the publisher's country.
    pub receive_scopes: BTreeSet<ScopeName>,
    /// Revoked publisher keys (the key stays listed: records before the revocation
    /// stay valid).
    pub revoked: Vec<Revocation>,
    /// What happens to this member's stored records when it is removed.
    pub on_removal: OnRemoval,
    /// May this member rotate its publisher key with a signed rotation statement?
    pub allow_rotation: bool,
    /// Which rule admitted it: a local `[[member]]` or an anchor's list.
    pub source: Source,
}

/// A revoked publisher key: records under `key` issued at or after `as_of`, or with
/// a seq above `max_seq` (when given), are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub key: PublicKey,
    pub as_of: Timestamp,
    pub max_seq: Option<u64>,
    pub reason: Option<String>,
}

impl Revocation {
    /// Does this revocation refuse `record`?
    pub fn covers(&self, record: &Record) -> bool {
        record.publisher == self.key
            && (record.issued_at >= self.as_of || self.max_seq.is_some_and(|m| record.seq > m))
    }
}

/// What a node does with a removed member's stored records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnRemoval {
    /// Keep them, shown as from a "former member" (the default).
    #[default]
    Keep,
    /// Delete them from the store.
    Purge,
}

impl OnRemoval {
    pub fn as_str(self) -> &'static str {
        match self {
            OnRemoval::Keep => "keep",
            OnRemoval::Purge => "purge",
        }
    }

    pub fn parse(s: &str) -> Option<OnRemoval> {
        match s {
            "keep" => Some(OnRemoval::Keep),
            "purge" => Some(OnRemoval::Purge),
            _ => None,
        }
    }
}

impl Member {
    /// The revocation of `record`'s key that refuses it, if any.
    pub fn revocation_of(&self, record: &Record) -> Option<&Revocation> {
        self.revoked.iter().find(|r| r.covers(record))
    }
}

/// [`Scope`] as an ordered set element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeName {
    Federation,
    National,
    International,
}

impl From<Scope> for ScopeName {
    fn from(s: Scope) -> Self {
        match s {
            Scope::Federation => ScopeName::Federation,
            Scope::National => ScopeName::National,
            Scope::International => ScopeName::International,
        }
    }
}

impl ScopeName {
    pub fn all() -> BTreeSet<ScopeName> {
        [
            ScopeName::Federation,
            ScopeName::National,
            ScopeName::International,
        ]
        .into()
    }
}

/// This node: its own publisher key and country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalNode {
    pub publisher: PublicKey,
    pub country: String,
}

/// The members a node admits, the anchors whose lists it imports, and its denies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustList {
    pub members: Vec<Member>,
    /// Federation anchors (`[[anchor]]`): their membership lists are imported.
    pub anchors: Vec<Anchor>,
    /// Local denies (`[[deny]]`): always win over anchor lists.
    pub denies: Vec<Deny>,
    /// Members an anchor listed that this node refused, with the rule (effective
    /// lists only; empty in a list parsed from `trust.toml`).
    pub refused: Vec<RefusedListing>,
}

/// Why a record is refused by policy (never the sender's fault as such: gossip
/// reports these as `Ignore`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyRefusal {
    #[error("publisher {0} is not in the trust list")]
    UnknownPublisher(String),
    #[error("member {member:?} may not publish {kind} records")]
    KindNotAllowed { member: String, kind: Kind },
    #[error("the record's scope {scope} does not allow this node to receive it")]
    OutOfScope { scope: &'static str },
    #[error("key {key} of member {member:?} is revoked as of {as_of}")]
    KeyRevoked {
        member: String,
        key: String,
        as_of: String,
    },
    #[error("publisher {key} is refused: {rule}")]
    Denied { key: String, rule: String },
    #[error("publisher {key} is not a trusted anchor: only anchors named in trust.toml may publish membership lists")]
    NotAnAnchor { key: String },
}

impl PolicyRefusal {
    pub fn reason(&self) -> &'static str {
        match self {
            PolicyRefusal::UnknownPublisher(_) => "unknown_publisher",
            PolicyRefusal::KindNotAllowed { .. } => "kind_not_allowed",
            PolicyRefusal::OutOfScope { .. } => "out_of_scope",
            PolicyRefusal::KeyRevoked { .. } => "key_revoked",
            PolicyRefusal::Denied { .. } => "denied",
            PolicyRefusal::NotAnAnchor { .. } => "not_an_anchor",
        }
    }
}

impl TrustList {
    pub fn member_by_key(&self, key: &PublicKey) -> Option<&Member> {
        self.members.iter().find(|m| m.publisher_keys.contains(key))
    }

    pub fn member_by_peer(&self, peer_id: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.peer_ids.iter().any(|p| p == peer_id))
    }

    /// The country a publisher belongs to (ours for our own key).
    fn publisher_country<'a>(&'a self, local: &'a LocalNode, key: &PublicKey) -> Option<&'a str> {
        if *key == local.publisher {
            return Some(&local.country);
        }
        self.member_by_key(key).map(|m| m.country.as_str())
    }

    /// THE acceptance policy: may this node store (and so forward) `record`?
    /// Used for gossip, sync, federated query answers and local publishing alike.
    /// For many records at once, [`TrustList::policy`] gives the same decisions
    /// and looks each run of one publisher's records up once.
    pub fn accept(&self, local: &LocalNode, record: &Record) -> Result<(), PolicyRefusal> {
        self.policy(local).accept(record)
    }

    /// The acceptance policy for a batch of records, decided against this list as
    /// it is now: [`Policy::accept`] decides exactly as [`TrustList::accept`].
    pub fn policy<'a>(&'a self, local: &'a LocalNode) -> Policy<'a> {
        Policy {
            trust: self,
            local,
            last: None,
        }
    }

    /// The trust list's entries for a publisher other than this node.
    fn look_up(&self, key: &PublicKey) -> Listed<'_> {
        Listed {
            key: *key,
            deny: self.deny_of_key(key),
            member: self.member_by_key(key),
        }
    }

    fn accept_listed(
        &self,
        local: &LocalNode,
        listed: Option<&Listed<'_>>,
        record: &Record,
    ) -> Result<(), PolicyRefusal> {
        let kind = record.kind();
        // The publisher's country (ours for our own key), for national scope.
        let country = match listed {
            None => Some(local.country.as_str()),
            Some(p) => {
                if let Some((i, d)) = p.deny {
                    return Err(PolicyRefusal::Denied {
                        key: record.publisher.to_hex(),
                        rule: format!("denied by {}", d.describe(i)),
                    });
                }
                if record.body.slot().0 == Kind::Membership {
                    // Membership lists (and their withdrawals) come from anchors only.
                    return match self.anchor_by_key(&record.publisher) {
                        Some(_) => Ok(()),
                        None => Err(PolicyRefusal::NotAnAnchor {
                            key: record.publisher.to_hex(),
                        }),
                    };
                }
                let member = p.member.ok_or_else(|| {
                    let key = record.publisher.to_hex();
                    match self.refusal_of_key(&record.publisher) {
                        Some(rule) => PolicyRefusal::Denied { key, rule },
                        None => PolicyRefusal::UnknownPublisher(key),
                    }
                })?;
                if let Some(r) = member.revocation_of(record) {
                    return Err(PolicyRefusal::KeyRevoked {
                        member: member.name.clone(),
                        key: r.key.to_hex(),
                        as_of: r.as_of.to_string(),
                    });
                }
                may_publish(member, &record.body)?;
                Some(member.country.as_str())
            }
        };
        let scope = record.body.scope();
        if kind != Kind::Tombstone && !scope_allows(scope, country, &local.country) {
            return Err(PolicyRefusal::OutOfScope {
                scope: scope.as_str(),
            });
        }
        Ok(())
    }

    /// How this node sees the publisher of a stored record: `self`, `member`,
    /// `former member` (no longer in the trust list) or `revoked key` (signed under
    /// a key revoked as of a time before the record).
    pub fn publisher_status(&self, local: &LocalNode, record: &Record) -> &'static str {
        if record.publisher == local.publisher {
            return "self";
        }
        match self.member_by_key(&record.publisher) {
            None => "former member",
            Some(m) if m.revocation_of(record).is_some() => "revoked key",
            Some(_) => "member",
        }
    }

    /// May `record` be sent to `member` (gossip, sync, query answers)?
    pub fn may_send(&self, local: &LocalNode, record: &Record, member: &Member) -> bool {
        self.may_send_parts(
            local,
            &record.publisher,
            record.body.scope(),
            record.is_tombstone(),
            member,
        )
    }

    /// [`TrustList::may_send`] from the parts a sync index row keeps. Tombstones go
    /// wherever their target could have gone: to every member (they reveal only an id).
    pub fn may_send_parts(
        &self,
        local: &LocalNode,
        publisher: &PublicKey,
        scope: Scope,
        tombstone: bool,
        member: &Member,
    ) -> bool {
        if tombstone {
            return true;
        }
        if !member.receive_scopes.contains(&ScopeName::from(scope)) {
            return false;
        }
        self.scope_allows(local, publisher, scope, &member.country)
    }

    fn scope_allows(
        &self,
        local: &LocalNode,
        publisher: &PublicKey,
        scope: Scope,
        country: &str,
    ) -> bool {
        scope_allows(scope, self.publisher_country(local, publisher), country)
    }
}

/// May a record of `scope` from a publisher of `publisher_country` (`None`:
/// unknown) go to a node of `country`? National records stay in their country.
fn scope_allows(scope: Scope, publisher_country: Option<&str>, country: &str) -> bool {
    match scope {
        Scope::National => publisher_country == Some(country),
        Scope::Federation | Scope::International => true,
    }
}

/// A publisher's entries in the trust list, looked up once for a run of its records.
struct Listed<'a> {
    key: PublicKey,
    deny: Option<(usize, &'a Deny)>,
    member: Option<&'a Member>,
}

/// [`TrustList::accept`] for many records against one trust list (see
/// [`TrustList::policy`]): the list is borrowed for the whole batch, and a
/// publisher's deny and member entries are looked up once per run of its records
/// (the linear scans of the list are the policy's only cost that grows with the
/// federation).
pub struct Policy<'a> {
    trust: &'a TrustList,
    local: &'a LocalNode,
    last: Option<Listed<'a>>,
}

impl Policy<'_> {
    /// Exactly [`TrustList::accept`] of the borrowed list.
    pub fn accept(&mut self, record: &Record) -> Result<(), PolicyRefusal> {
        if record.publisher == self.local.publisher {
            return self.trust.accept_listed(self.local, None, record);
        }
        if self.last.as_ref().is_none_or(|l| l.key != record.publisher) {
            self.last = Some(self.trust.look_up(&record.publisher));
        }
        self.trust
            .accept_listed(self.local, self.last.as_ref(), record)
    }
}

/// Role check: may `member` publish a record with this body?
fn may_publish(member: &Member, body: &Body) -> Result<(), PolicyRefusal> {
    let denied = |kind| PolicyRefusal::KindNotAllowed {
        member: member.name.clone(),
        kind,
    };
    let r = &member.roles;
    match body {
        Body::Entry(_) if r.publish_entries => Ok(()),
        Body::Event(_) if r.publish_events => Ok(()),
        // Any publishing member may publish mapping sets, and they are stored and
        // relayed: whether a node *uses* a set is decided by recognition (the
        // member's `publish_mappings` pairs), not by acceptance, because another
        // node may recognise what this one does not.
        Body::MappingSet(_)
            if r.publish_entries || r.publish_events || !r.publish_mappings.is_empty() =>
        {
            Ok(())
        }
        Body::Tombstone(t) => match t.target_kind {
            Kind::Entry if r.publish_entries => Ok(()),
            Kind::Event if r.publish_events => Ok(()),
            Kind::MappingSet
                if r.publish_entries || r.publish_events || !r.publish_mappings.is_empty() =>
            {
                Ok(())
            }
            k => Err(denied(k)),
        },
        other => Err(denied(other.kind())),
    }
}

impl TrustList {
    /// The topic a record is gossiped on (None for a national record whose
    /// publisher's country is unknown, which policy refuses anyway).
    pub fn topic_for(&self, local: &LocalNode, record: &Record) -> Option<String> {
        if record.is_tombstone() {
            return Some(topics::tombstones());
        }
        let scope = record.body.scope();
        let country = match scope {
            // The federation and international topics do not depend on the
            // country (an anchor need not be a member itself).
            Scope::Federation | Scope::International => "",
            Scope::National => self.publisher_country(local, &record.publisher)?,
        };
        Some(topics::for_scope(scope, country))
    }
}

#[cfg(test)]
#[path = "trust/policy_tests.rs"]
mod policy_tests;

#[cfg(test)]
#[path = "trust/tests.rs"]
mod tests;
