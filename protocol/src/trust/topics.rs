//! Gossip topics: one per scope partition, so a node subscribes only to what it may
//! receive (docs/PROTOCOL.md §6). Tombstones have their own topic everyone joins.

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
