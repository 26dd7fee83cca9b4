//! `trust.toml`: the members this node admits (准入) and what each may do.
//!
//! ```toml
//! [[member]]
//! name = "Guangdong Technology Exchange"
//! country = "CN"
//! region = "CN-GD"
//! publisher_keys = ["<64 hex>"]
//! peer_ids = ["12D3KooW..."]
//! addresses = ["/ip4/10.0.0.2/tcp/7700"]
//! roles = ["publish_entries", "publish_events"]   # or ["observer"]
//! publish_mappings = ["gbt4754->nace2"]           # recognised authority for these pairs
//! receive_scopes = ["federation", "national", "international"]
//! on_removal = "keep"                             # or "purge": its records when removed
//! allow_rotation = true                           # may rotate its key (signed statement)
//! revoked = [{ key = "<64 hex>", as_of = "2026-11-01T00:00:00Z" }]
//! ```
//!
//! Parsing yields the pure [`TrustList`] of techmesh-protocol, which decides.
//! Contradictions (a key or peer id under two members, an unknown role) are refused.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::ConfigError;
use techmesh_protocol::body::common::{is_country, is_region_of};
use techmesh_protocol::codes::Scheme;
use techmesh_protocol::record::PublicKey;
use techmesh_protocol::time::Timestamp;
use techmesh_protocol::trust::{Member, OnRemoval, Revocation, Roles, ScopeName, TrustList};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TrustFile {
    #[serde(default)]
    member: Vec<MemberFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberFile {
    name: Spanned<String>,
    country: Spanned<String>,
    #[serde(default)]
    region: Option<Spanned<String>>,
    #[serde(default)]
    publisher_keys: Vec<Spanned<String>>,
    #[serde(default)]
    peer_ids: Vec<Spanned<String>>,
    #[serde(default)]
    addresses: Vec<String>,
    #[serde(default)]
    roles: Vec<Spanned<String>>,
    #[serde(default)]
    publish_mappings: Vec<Spanned<String>>,
    #[serde(default)]
    receive_scopes: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    revoked: Vec<RevokedFile>,
    #[serde(default)]
    on_removal: Option<Spanned<String>>,
    #[serde(default)]
    allow_rotation: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokedFile {
    key: Spanned<String>,
    as_of: Spanned<String>,
    #[serde(default)]
    max_seq: Option<u64>,
    #[serde(default)]
    reason: Option<String>,
}

pub const ROLES: [&str; 3] = ["publish_entries", "publish_events", "observer"];

/// Read and check a trust list file. A missing file is an error (use an empty file
/// for "trust nobody").
pub fn load(path: &Path) -> Result<TrustList, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, &e))?;
    parse(path, &text)
}

fn is_peer_id(s: &str) -> bool {
    const B58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    (40..=60).contains(&s.len()) && s.chars().all(|c| B58.contains(c))
}

pub fn parse(path: &Path, text: &str) -> Result<TrustList, ConfigError> {
    let file: TrustFile =
        toml::from_str(text).map_err(|e| ConfigError::from_toml(path, text, &e))?;
    let at = |s: std::ops::Range<usize>, field: String, msg: String| {
        ConfigError::at(path, text, Some(s), Some(field), msg)
    };
    let mut members = Vec::new();
    let mut key_owner: BTreeMap<PublicKey, String> = BTreeMap::new();
    let mut peer_owner: BTreeMap<String, String> = BTreeMap::new();
    for (i, m) in file.member.into_iter().enumerate() {
        let f = |name: &str| format!("member[{i}].{name}");
        let name = m.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(at(m.name.span(), f("name"), "is empty".into()));
        }
        let country = m.country.get_ref().clone();
        if !is_country(&country) {
            return Err(at(
                m.country.span(),
                f("country"),
                format!("{country:?} is not an ISO 3166-1 alpha-2 country code"),
            ));
        }
        if let Some(r) = &m.region {
            if !is_region_of(r.get_ref(), &country) {
                return Err(at(
                    r.span(),
                    f("region"),
                    format!("{:?} is not an ISO 3166-2 region of {country}", r.get_ref()),
                ));
            }
        }
        let mut keys = Vec::new();
        for k in &m.publisher_keys {
            let key = PublicKey::from_hex(k.get_ref()).ok_or_else(|| {
                at(
                    k.span(),
                    f("publisher_keys"),
                    format!(
                        "{:?} is not a publisher key (64 lowercase hex digits)",
                        k.get_ref()
                    ),
                )
            })?;
            key.check_point()
                .map_err(|e| at(k.span(), f("publisher_keys"), e.to_string()))?;
            if let Some(other) = key_owner.insert(key, name.clone()) {
                return Err(at(
                    k.span(),
                    f("publisher_keys"),
                    format!(
                        "key {} is already listed under member {other:?}",
                        k.get_ref()
                    ),
                ));
            }
            keys.push(key);
        }
        let mut peers = Vec::new();
        for p in &m.peer_ids {
            if !is_peer_id(p.get_ref()) {
                return Err(at(
                    p.span(),
                    f("peer_ids"),
                    format!(
                        "{:?} is not a libp2p peer id (base58, e.g. 12D3KooW...)",
                        p.get_ref()
                    ),
                ));
            }
            if let Some(other) = peer_owner.insert(p.get_ref().clone(), name.clone()) {
                return Err(at(
                    p.span(),
                    f("peer_ids"),
                    format!(
                        "peer id {} is already listed under member {other:?}",
                        p.get_ref()
                    ),
                ));
            }
            peers.push(p.get_ref().clone());
        }
        let mut roles = Roles::default();
        for r in &m.roles {
            match r.get_ref().as_str() {
                "publish_entries" => roles.publish_entries = true,
                "publish_events" => roles.publish_events = true,
                "observer" => roles.observer = true,
                other => {
                    return Err(at(
                        r.span(),
                        f("roles"),
                        format!("unknown role {other:?} (known: {})", ROLES.join(", ")),
                    ))
                }
            }
        }
        if roles.observer
            && (roles.publish_entries || roles.publish_events || !m.publish_mappings.is_empty())
        {
            return Err(at(
                m.name.span(),
                f("roles"),
                "an observer may not also publish".into(),
            ));
        }
        for p in &m.publish_mappings {
            let pair = p
                .get_ref()
                .split_once("->")
                .and_then(|(a, b)| Scheme::parse(a.trim()).zip(Scheme::parse(b.trim())));
            let pair = pair.ok_or_else(|| {
                at(
                    p.span(),
                    f("publish_mappings"),
                    format!(
                        "{:?} is not a scheme pair such as \"gbt4754->nace2\"",
                        p.get_ref()
                    ),
                )
            })?;
            roles.publish_mappings.insert(pair);
        }
        let receive_scopes = match &m.receive_scopes {
            None => ScopeName::all(),
            Some(list) => {
                let mut set = BTreeSet::new();
                for s in list {
                    set.insert(match s.get_ref().as_str() {
                        "federation" => ScopeName::Federation,
                        "national" => ScopeName::National,
                        "international" => ScopeName::International,
                        other => return Err(at(s.span(), f("receive_scopes"), format!("unknown scope {other:?} (known: federation, national, international)"))),
                    });
                }
                set
            }
        };
        let mut revoked: Vec<Revocation> = Vec::new();
        for (j, r) in m.revoked.iter().enumerate() {
            let fr = |name: &str| format!("member[{i}].revoked[{j}].{name}");
            let key = PublicKey::from_hex(r.key.get_ref())
                .filter(|k| keys.contains(k))
                .ok_or_else(|| {
                    at(
                        r.key.span(),
                        fr("key"),
                        format!(
                            "{:?} is not one of this member's publisher_keys (a revoked key stays listed: its older records stay valid)",
                            r.key.get_ref()
                        ),
                    )
                })?;
            if revoked.iter().any(|x| x.key == key) {
                return Err(at(
                    r.key.span(),
                    fr("key"),
                    format!("key {} is revoked twice", r.key.get_ref()),
                ));
            }
            let as_of = Timestamp::parse(r.as_of.get_ref()).ok_or_else(|| {
                at(
                    r.as_of.span(),
                    fr("as_of"),
                    format!(
                        "{:?} is not a UTC time such as \"2026-11-01T00:00:00Z\"",
                        r.as_of.get_ref()
                    ),
                )
            })?;
            revoked.push(Revocation {
                key,
                as_of,
                max_seq: r.max_seq,
                reason: r.reason.clone(),
            });
        }
        let on_removal = match &m.on_removal {
            None => OnRemoval::Keep,
            Some(o) => OnRemoval::parse(o.get_ref()).ok_or_else(|| {
                at(
                    o.span(),
                    f("on_removal"),
                    format!("{:?} is neither \"keep\" nor \"purge\"", o.get_ref()),
                )
            })?,
        };
        members.push(Member {
            name,
            country,
            region: m.region.map(|r| r.into_inner()),
            publisher_keys: keys,
            peer_ids: peers,
            addresses: m.addresses,
            roles,
            receive_scopes,
            revoked,
            on_removal,
            allow_rotation: m.allow_rotation,
        });
    }
    Ok(TrustList { members })
}

/// The text `techmesh init` writes: an empty, commented trust list.
pub const EMPTY_TRUST_TOML: &str = r#"# techmesh trust list: the members this node admits and what they may do.
# Only peers listed here may connect; only their publisher keys are accepted.
# See docs/OPERATIONS.md. Example:
#
# [[member]]
# name = "Guangdong Technology Exchange"
# country = "CN"
# region = "CN-GD"
# publisher_keys = ["<64 hex digits from `techmesh id` on their node>"]
# peer_ids = ["<peer id from `techmesh id` on their node>"]
# addresses = ["/ip4/192.0.2.10/tcp/7700"]
# roles = ["publish_entries", "publish_events"]     # or ["observer"]
# publish_mappings = ["gbt4754->nace2"]             # recognised mapping authority
# receive_scopes = ["federation", "national", "international"]
# on_removal = "keep"                               # or "purge": its records when removed
# allow_rotation = false                            # may rotate its key (signed statement)
# revoked = [{ key = "<64 hex>", as_of = "2026-11-01T00:00:00Z" }]   # refused from then on
"#;

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
    const P1: &str = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

    fn parse_str(text: &str) -> Result<TrustList, String> {
        parse(Path::new("trust.toml"), text).map_err(|e| e.to_string())
    }

    fn member(extra: &str) -> String {
        format!("[[member]]\nname = \"GD\"\ncountry = \"CN\"\npublisher_keys = [\"{K1}\"]\npeer_ids = [\"{P1}\"]\n{extra}")
    }

    #[test]
    fn empty_and_example_files_parse() {
        assert_eq!(parse_str(EMPTY_TRUST_TOML).unwrap().members.len(), 0);
        let t = parse_str(&member(
            "roles = [\"publish_entries\"]\npublish_mappings = [\"gbt4754->nace2\"]\n",
        ))
        .unwrap();
        let m = &t.members[0];
        assert!(m.roles.publish_entries && !m.roles.publish_events);
        assert!(m
            .roles
            .publish_mappings
            .contains(&(Scheme::Gbt4754, Scheme::Nace2)));
        assert_eq!(m.receive_scopes, ScopeName::all());
        assert_eq!(t.member_by_peer(P1).map(|m| m.name.as_str()), Some("GD"));
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let e = parse_str(&member("roles = [\"publish_entries\", \"admin\"]\n")).unwrap_err();
        assert_eq!(e, "trust.toml:6:29: member[0].roles: unknown role \"admin\" (known: publish_entries, publish_events, observer)");
        let e = parse_str(&member("colour = \"red\"\n")).unwrap_err();
        assert!(
            e.starts_with("trust.toml:6:1: colour: unknown field `colour`"),
            "{e}"
        );
        let e = parse_str(&member("publish_mappings = [\"gbt4754=nace2\"]\n")).unwrap_err();
        assert!(
            e.starts_with("trust.toml:6:21: member[0].publish_mappings:"),
            "{e}"
        );
        let e = parse_str(&member("receive_scopes = [\"galaxy\"]\n")).unwrap_err();
        assert!(e.contains("unknown scope \"galaxy\""), "{e}");
    }

    #[test]
    fn contradictions_are_refused() {
        let twice = format!(
            "{}\n[[member]]\nname = \"HB\"\ncountry = \"CN\"\npublisher_keys = [\"{K1}\"]\n",
            member("")
        );
        let e = parse_str(&twice).unwrap_err();
        assert!(
            e.contains("member[1].publisher_keys: key 8a88")
                && e.contains("already listed under member \"GD\""),
            "{e}"
        );
        let e = parse_str(&member("roles = [\"observer\", \"publish_entries\"]\n")).unwrap_err();
        assert!(e.contains("an observer may not also publish"), "{e}");
        let bad_key = member("").replace(K1, &"0".repeat(64));
        assert!(parse_str(&bad_key).unwrap_err().contains("small-order"));
    }

    #[test]
    fn revocations_removal_and_rotation_fields() {
        let t = parse_str(&member(&format!(
            "on_removal = \"purge\"\nallow_rotation = true\nrevoked = [{{ key = \"{K1}\", as_of = \"2026-11-01T00:00:00Z\", max_seq = 7, reason = \"laptop stolen\" }}]\n"
        )))
        .unwrap();
        let m = &t.members[0];
        assert_eq!(m.on_removal, OnRemoval::Purge);
        assert!(m.allow_rotation);
        assert_eq!(m.revoked[0].as_of.to_string(), "2026-11-01T00:00:00Z");
        assert_eq!(m.revoked[0].max_seq, Some(7));
        let d = parse_str(&member("")).unwrap();
        assert_eq!(d.members[0].on_removal, OnRemoval::Keep);
        assert!(!d.members[0].allow_rotation && d.members[0].revoked.is_empty());
        let e = parse_str(&member("on_removal = \"shred\"\n")).unwrap_err();
        assert_eq!(
            e,
            "trust.toml:6:14: member[0].on_removal: \"shred\" is neither \"keep\" nor \"purge\""
        );
        let other = "1".repeat(64);
        let e = parse_str(&member(&format!(
            "revoked = [{{ key = \"{other}\", as_of = \"2026-11-01T00:00:00Z\" }}]\n"
        )))
        .unwrap_err();
        assert!(
            e.starts_with("trust.toml:6:20: member[0].revoked[0].key:")
                && e.contains("not one of this member's publisher_keys"),
            "{e}"
        );
        let e = parse_str(&member(&format!(
            "revoked = [{{ key = \"{K1}\", as_of = \"yesterday\" }}]\n"
        )))
        .unwrap_err();
        assert!(e.contains("member[0].revoked[0].as_of"), "{e}");
        let e = parse_str(&member(&format!(
            "revoked = [{{ key = \"{K1}\", as_of = \"2026-11-01T00:00:00Z\", colour = 1 }}]\n"
        )))
        .unwrap_err();
        assert!(e.contains("unknown field `colour`"), "{e}");
    }
}
