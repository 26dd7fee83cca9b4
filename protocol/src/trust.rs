//! The trust list as data, and the one acceptance policy every path uses (gossip,
//! sync, query, local publish). Parsing the `trust.toml` file is techmesh-config's
//! job; deciding is here, pure, so it can be tested without a network.

use std::collections::BTreeSet;

use crate::body::{Body, Kind, Scope};
use crate::codes::Scheme;
use crate::record::{PublicKey, Record};

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
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The members a node admits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustList {
    pub members: Vec<Member>,
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
}

impl PolicyRefusal {
    pub fn reason(&self) -> &'static str {
        match self {
            PolicyRefusal::UnknownPublisher(_) => "unknown_publisher",
            PolicyRefusal::KindNotAllowed { .. } => "kind_not_allowed",
            PolicyRefusal::OutOfScope { .. } => "out_of_scope",
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
    pub fn accept(&self, local: &LocalNode, record: &Record) -> Result<(), PolicyRefusal> {
        let kind = record.kind();
        if record.publisher != local.publisher {
            let member = self
                .member_by_key(&record.publisher)
                .ok_or_else(|| PolicyRefusal::UnknownPublisher(record.publisher.to_hex()))?;
            may_publish(member, &record.body)?;
        }
        let scope = record.body.scope();
        if kind != Kind::Tombstone
            && !self.scope_allows(local, &record.publisher, scope, &local.country)
        {
            return Err(PolicyRefusal::OutOfScope {
                scope: scope.as_str(),
            });
        }
        Ok(())
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
        match scope {
            Scope::National => self.publisher_country(local, publisher) == Some(country),
            Scope::Federation | Scope::International => true,
        }
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

/// Gossip topics: one per scope partition, so a node subscribes only to what it may
/// receive (docs/PROTOCOL.md §6). Tombstones have their own topic everyone joins.
pub mod topics {
    use super::*;

    pub const PREFIX: &str = "techmesh/v1/";

    pub fn tombstones() -> String {
        format!("{PREFIX}tombstones")
    }

    pub fn for_scope(scope: Scope, publisher_country: &str) -> String {
        match scope {
            Scope::Federation => format!("{PREFIX}federation"),
            Scope::International => format!("{PREFIX}international"),
            Scope::National => format!("{PREFIX}national/{publisher_country}"),
        }
    }

    /// Topics a node of `country` with `scopes` subscribes to.
    pub fn subscriptions(country: &str, scopes: &BTreeSet<ScopeName>) -> Vec<String> {
        let mut t = vec![tombstones()];
        for s in scopes {
            t.push(match s {
                ScopeName::Federation => for_scope(Scope::Federation, country),
                ScopeName::International => for_scope(Scope::International, country),
                ScopeName::National => for_scope(Scope::National, country),
            });
        }
        t
    }

    /// May `member` be subscribed to `topic` (i.e. receive what is published there)?
    pub fn entitled(member: &Member, topic: &str) -> bool {
        subscriptions(&member.country, &member.receive_scopes)
            .iter()
            .any(|t| t == topic)
    }

    /// Every topic a node might ever see (the subscription whitelist): the fixed
    /// ones and one national topic per country.
    pub fn is_known(topic: &str) -> bool {
        match topic.strip_prefix(PREFIX) {
            Some("tombstones" | "federation" | "international") => true,
            Some(rest) => rest
                .strip_prefix("national/")
                .is_some_and(crate::body::common::is_country),
            None => false,
        }
    }
}

impl TrustList {
    /// The topic a record is gossiped on (None when the publisher's country is
    /// unknown, which policy refuses anyway).
    pub fn topic_for(&self, local: &LocalNode, record: &Record) -> Option<String> {
        if record.is_tombstone() {
            return Some(topics::tombstones());
        }
        let country = self.publisher_country(local, &record.publisher)?;
        Some(topics::for_scope(record.body.scope(), country))
    }
}
