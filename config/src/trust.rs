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
//!
//! [[anchor]]                                      # a federation anchor (e.g. a hub)
//! name = "Hubei Hub"
//! publisher_key = "<64 hex>"                      # the key its membership lists are signed with
//! max_roles = ["publish_entries"]                 # the most it may grant (default: none)
//! max_publish_mappings = []
//! max_receive_scopes = ["federation", "international"]   # (default: all)
//!
//! [[deny]]                                        # always wins over anchor lists
//! publisher_key = "<64 hex>"                      # and/or peer_id = "...", name = "..."
//! reason = "contract ended"
//! ```
//!
//! Parsing yields the pure [`TrustList`] of techmesh-protocol, which decides (the
//! anchors' lists are merged in by the node: `TrustList::with_anchor_lists`).
//! Contradictions (a key or peer id under two members, an unknown role, a member
//! that a deny names) are refused.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::ConfigError;
use techmesh_protocol::body::common::{is_country, is_region_of};
use techmesh_protocol::body::membership::is_peer_id;
use techmesh_protocol::codes::Scheme;
use techmesh_protocol::record::PublicKey;
use techmesh_protocol::time::Timestamp;
use techmesh_protocol::trust::{
    Anchor, Deny, Member, OnRemoval, Revocation, Roles, ScopeName, TrustList,
};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TrustFile {
    #[serde(default)]
    member: Vec<MemberFile>,
    #[serde(default)]
    anchor: Vec<AnchorFile>,
    #[serde(default)]
    deny: Vec<DenyFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnchorFile {
    name: Spanned<String>,
    publisher_key: Spanned<String>,
    #[serde(default)]
    max_roles: Vec<Spanned<String>>,
    #[serde(default)]
    max_publish_mappings: Vec<Spanned<String>>,
    #[serde(default)]
    max_receive_scopes: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DenyFile {
    #[serde(default)]
    name: Option<Spanned<String>>,
    #[serde(default)]
    publisher_key: Option<Spanned<String>>,
    #[serde(default)]
    peer_id: Option<Spanned<String>>,
    #[serde(default)]
    reason: Option<String>,
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
    addresses: Vec<Spanned<String>>,
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
            let key = parse_key(k, &f("publisher_keys"), &at)?;
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
        let mut addresses = Vec::new();
        for (j, a) in m.addresses.iter().enumerate() {
            crate::addr::check(a.get_ref(), false)
                .map_err(|msg| at(a.span(), f(&format!("addresses[{j}]")), msg))?;
            addresses.push(a.get_ref().clone());
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
        let mut roles = parse_roles(&m.roles, &f("roles"), &at)?;
        if roles.observer
            && (roles.publish_entries || roles.publish_events || !m.publish_mappings.is_empty())
        {
            return Err(at(
                m.name.span(),
                f("roles"),
                "an observer may not also publish".into(),
            ));
        }
        roles.publish_mappings = parse_pairs(&m.publish_mappings, &f("publish_mappings"), &at)?;
        let receive_scopes = parse_scopes(&m.receive_scopes, &f("receive_scopes"), &at)?;
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
            addresses,
            roles,
            receive_scopes,
            revoked,
            on_removal,
            allow_rotation: m.allow_rotation,
            ..Member::default()
        });
    }
    let mut anchors: Vec<Anchor> = Vec::new();
    for (i, a) in file.anchor.into_iter().enumerate() {
        let f = |name: &str| format!("anchor[{i}].{name}");
        let name = a.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(at(a.name.span(), f("name"), "is empty".into()));
        }
        let key = parse_key(&a.publisher_key, &f("publisher_key"), &at)?;
        if let Some(other) = anchors
            .iter()
            .find(|x| x.name == name || x.publisher_key == key)
        {
            return Err(at(
                a.name.span(),
                f("name"),
                format!(
                    "anchor {:?} has the same name or publisher_key (list each anchor once)",
                    other.name
                ),
            ));
        }
        let mut max_roles = parse_roles(&a.max_roles, &f("max_roles"), &at)?;
        max_roles.publish_mappings =
            parse_pairs(&a.max_publish_mappings, &f("max_publish_mappings"), &at)?;
        anchors.push(Anchor {
            name,
            publisher_key: key,
            max_roles,
            max_receive_scopes: parse_scopes(&a.max_receive_scopes, &f("max_receive_scopes"), &at)?,
        });
    }
    let mut denies = Vec::new();
    for (i, d) in file.deny.into_iter().enumerate() {
        let f = |name: &str| format!("deny[{i}].{name}");
        let publisher_key = match &d.publisher_key {
            Some(k) => Some(parse_key(k, &f("publisher_key"), &at)?),
            None => None,
        };
        if let Some(p) = &d.peer_id {
            if !is_peer_id(p.get_ref()) {
                return Err(at(
                    p.span(),
                    f("peer_id"),
                    format!(
                        "{:?} is not a libp2p peer id (base58, e.g. 12D3KooW...)",
                        p.get_ref()
                    ),
                ));
            }
        }
        let span = d
            .publisher_key
            .as_ref()
            .or(d.peer_id.as_ref())
            .or(d.name.as_ref())
            .map(|x| x.span());
        let deny = Deny {
            name: d.name.as_ref().map(|n| n.get_ref().trim().to_string()),
            publisher_key,
            peer_id: d.peer_id.as_ref().map(|p| p.get_ref().clone()),
            reason: d.reason,
        };
        if deny.name.is_none() && deny.publisher_key.is_none() && deny.peer_id.is_none() {
            return Err(ConfigError::at(
                path,
                text,
                None,
                Some(format!("deny[{i}]")),
                "names nothing: give name, publisher_key or peer_id",
            ));
        }
        // A local deny that names a local member is a contradiction: say which.
        if let Some(m) = members.iter().find(|m| deny.matches(m)) {
            return Err(ConfigError::at(
                path,
                text,
                span,
                Some(format!("deny[{i}]")),
                format!(
                    "denies local member {:?}: remove the [[member]] or the [[deny]] (a deny is for members that anchors list)",
                    m.name
                ),
            ));
        }
        denies.push(deny);
    }
    Ok(TrustList {
        members,
        anchors,
        denies,
        refused: Vec::new(),
    })
}

/// Builds an error at a span of the file, naming the field.
type At<'a> = dyn Fn(std::ops::Range<usize>, String, String) -> ConfigError + 'a;

fn parse_key(k: &Spanned<String>, field: &str, at: &At<'_>) -> Result<PublicKey, ConfigError> {
    let key = PublicKey::from_hex(k.get_ref()).ok_or_else(|| {
        at(
            k.span(),
            field.to_string(),
            format!(
                "{:?} is not a publisher key (64 lowercase hex digits)",
                k.get_ref()
            ),
        )
    })?;
    key.check_point()
        .map_err(|e| at(k.span(), field.to_string(), e.to_string()))?;
    Ok(key)
}

fn parse_roles(list: &[Spanned<String>], field: &str, at: &At<'_>) -> Result<Roles, ConfigError> {
    let mut roles = Roles::default();
    for r in list {
        match r.get_ref().as_str() {
            "publish_entries" => roles.publish_entries = true,
            "publish_events" => roles.publish_events = true,
            "observer" => roles.observer = true,
            other => {
                return Err(at(
                    r.span(),
                    field.to_string(),
                    format!("unknown role {other:?} (known: {})", ROLES.join(", ")),
                ))
            }
        }
    }
    Ok(roles)
}

fn parse_pairs(
    list: &[Spanned<String>],
    field: &str,
    at: &At<'_>,
) -> Result<BTreeSet<(Scheme, Scheme)>, ConfigError> {
    let mut out = BTreeSet::new();
    for p in list {
        let pair = p
            .get_ref()
            .split_once("->")
            .and_then(|(a, b)| Scheme::parse(a.trim()).zip(Scheme::parse(b.trim())));
        out.insert(pair.ok_or_else(|| {
            at(
                p.span(),
                field.to_string(),
                format!(
                    "{:?} is not a scheme pair such as \"gbt4754->nace2\"",
                    p.get_ref()
                ),
            )
        })?);
    }
    Ok(out)
}

/// Scopes; absent means all three.
fn parse_scopes(
    list: &Option<Vec<Spanned<String>>>,
    field: &str,
    at: &At<'_>,
) -> Result<BTreeSet<ScopeName>, ConfigError> {
    let Some(list) = list else {
        return Ok(ScopeName::all());
    };
    let mut set = BTreeSet::new();
    for s in list {
        set.insert(match s.get_ref().as_str() {
            "federation" => ScopeName::Federation,
            "national" => ScopeName::National,
            "international" => ScopeName::International,
            other => {
                return Err(at(
                    s.span(),
                    field.to_string(),
                    format!("unknown scope {other:?} (known: federation, national, international)"),
                ))
            }
        });
    }
    Ok(set)
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
# addresses = ["/ip4/192.0.2.10/tcp/7700"]   # or "/ip4/192.0.2.10/udp/7700/quic-v1" (QUIC)
# roles = ["publish_entries", "publish_events"]     # or ["observer"]
# publish_mappings = ["gbt4754->nace2"]             # recognised mapping authority
# receive_scopes = ["federation", "national", "international"]
# on_removal = "keep"                               # or "purge": its records when removed
# allow_rotation = false                            # may rotate its key (signed statement)
# revoked = [{ key = "<64 hex>", as_of = "2026-11-01T00:00:00Z" }]   # refused from then on
#
# [[anchor]]                                        # import a federation anchor's member list
# name = "Hubei Hub"
# publisher_key = "<64 hex digits: the key its membership lists are signed with>"
# max_roles = ["publish_entries"]                   # the most it may grant
# max_receive_scopes = ["federation", "international"]
#
# [[deny]]                                          # always wins over anchor lists
# publisher_key = "<64 hex>"                        # or peer_id = "...", or name = "..."
# reason = "contract ended"
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

    const K2: &str = "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394";

    #[test]
    fn anchors_and_denies() {
        let t = parse_str(&format!(
            "{}\n[[anchor]]\nname = \"Hubei Hub\"\npublisher_key = \"{K2}\"\nmax_roles = [\"publish_entries\"]\nmax_receive_scopes = [\"federation\"]\n\n[[deny]]\nname = \"Yichang\"\nreason = \"contract ended\"\n",
            member("")
        ))
        .unwrap();
        let a = &t.anchors[0];
        assert_eq!(a.name, "Hubei Hub");
        assert!(a.max_roles.publish_entries && !a.max_roles.publish_events);
        assert_eq!(a.max_receive_scopes, [ScopeName::Federation].into());
        assert_eq!(t.denies[0].name.as_deref(), Some("Yichang"));
        // Limits default to nothing granted but every scope.
        let t = parse_str(&format!(
            "[[anchor]]\nname = \"H\"\npublisher_key = \"{K2}\"\n"
        ))
        .unwrap();
        assert_eq!(t.anchors[0].max_roles, Roles::default());
        assert_eq!(t.anchors[0].max_receive_scopes, ScopeName::all());
        let e = parse_str(&format!(
            "[[anchor]]\nname = \"H\"\npublisher_key = \"{K2}\"\nmax_roles = [\"admin\"]\n"
        ))
        .unwrap_err();
        assert!(
            e.starts_with("trust.toml:4:14: anchor[0].max_roles: unknown role \"admin\""),
            "{e}"
        );
        let e = parse_str("[[deny]]\nreason = \"x\"\n").unwrap_err();
        assert!(e.contains("deny[0]: names nothing"), "{e}");
        let e = parse_str("[[deny]]\npeer_id = \"nope\"\n").unwrap_err();
        assert!(
            e.contains("deny[0].peer_id: \"nope\" is not a libp2p peer id"),
            "{e}"
        );
        let e = parse_str(&format!(
            "{}\n[[deny]]\npublisher_key = \"{K1}\"\n",
            member("")
        ))
        .unwrap_err();
        assert!(
            e.starts_with("trust.toml:8:17: deny[0]: denies local member \"GD\""),
            "{e}"
        );
    }
}
