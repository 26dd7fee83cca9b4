//! Record bodies: the four kinds of the public data model, the federation's
//! signed membership lists, and their validation.
//!
//! [`Body::from_json`] turns a JSON value into a typed body and checks every rule,
//! reporting each broken one with its JSON path (`classifications[1].code: ...`).
//! [`Body::normalise`] rewrites what has a normal form (classification codes) and is
//! applied by publishers before signing; receivers require normal form.

pub mod common;
pub mod entry;
pub mod event;
pub mod mapping;
pub mod membership;
pub mod tombstone;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use common::{Classification, LangMap, Scope};
pub use entry::{Entry, EntryType, TransferMode};
pub use event::Event;
pub use mapping::{Mapping, MappingSet, Predicate};
pub use membership::{ListedMember, ListedRole, MembershipList};
pub use tombstone::Tombstone;

use crate::canonical::scan::Shape;
use crate::error::{FieldError, FieldErrors};
use common::Checker;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Entry,
    MappingSet,
    Event,
    Tombstone,
    /// A federation anchor's signed membership list (`membership.rs`).
    Membership,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Entry,
        Kind::MappingSet,
        Kind::Event,
        Kind::Tombstone,
        Kind::Membership,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Entry => "entry",
            Kind::MappingSet => "mapping_set",
            Kind::Event => "event",
            Kind::Tombstone => "tombstone",
            Kind::Membership => "membership",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// One byte used in storage keys and the identity encoding.
    pub fn tag(self) -> u8 {
        match self {
            Kind::Entry => b'e',
            Kind::MappingSet => b'm',
            Kind::Event => b'v',
            Kind::Tombstone => b't',
            Kind::Membership => b'l',
        }
    }

    pub fn from_tag(t: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.tag() == t)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed, validated body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Entry(Box<Entry>),
    MappingSet(Box<MappingSet>),
    Event(Box<Event>),
    Tombstone(Tombstone),
    Membership(Box<MembershipList>),
}

fn typed<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, FieldErrors> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        FieldErrors(vec![FieldError::new(path, e.into_inner().to_string())])
    })
}

impl Body {
    /// Parse a body of `kind` and check every rule. The value must be in normal form:
    /// exactly what [`Body::to_json`] writes for it (objects where the data model has
    /// objects, no `null` or empty optional members, codes normalised), so one body
    /// has one spelling.
    pub fn from_json(kind: Kind, value: &Value) -> Result<Body, FieldErrors> {
        let body = Body::parse_unchecked(kind, value)?;
        body.validate()?;
        let normal = body.to_json();
        // Compare canonical bytes: 1.0 and 1 are one JSON number.
        if crate::canonical::encode(&normal) != crate::canonical::encode(value) {
            let (path, detail) = first_difference(value, &normal, String::new());
            return Err(FieldErrors(vec![FieldError::new(
                path,
                format!("is not in normal form ({detail})"),
            )]));
        }
        Ok(body)
    }

    /// The fast path of [`Body::from_json`] for a record's body bytes that passed the
    /// canonical scan ([`crate::canonical::scan`]) with no `null`, `false`, `[]` or
    /// `{}` anywhere; `shape` is what the scan counted in them. The typed body comes
    /// straight from the bytes, then every rule is checked. `None` if parsing or a
    /// rule fails or the shapes differ (the caller then runs `from_json`, which
    /// names the errors).
    ///
    /// Why no normal-form comparison is needed: the bytes are canonical, so they are
    /// the canonical encoding of their own JSON value, and [`Body::to_json`] of the
    /// typed body gives that same value back unless deserialising lost something.
    /// The body types lose only (a) an explicit `null` of an optional member, (b) an
    /// empty list or map, or `false`, that serialisation leaves out — all excluded by
    /// the scan — and (c) a struct written as a JSON array (serde accepts
    /// `["trl-eu",6]` for `{"level":6,"scheme":"trl-eu"}`), which turns an array
    /// into an object, so the counts of objects and arrays written back differ from
    /// the scan's. Nothing else: every member with a default is skipped when it
    /// holds it (and no other member has one), every struct denies unknown members,
    /// enums are unit variants, there are no sets, aliases, flattened or custom-
    /// deserialised fields, maps are keyed by strings without duplicates
    /// (canonical), and numbers are small integers (the scan gives up on any other
    /// number). A test compares this with `from_json` on every vector and on
    /// thousands of broken variants (`src/tests/fast_decode.rs`).
    pub fn from_canonical(kind: Kind, bytes: &[u8], shape: Shape) -> Option<Body> {
        if bytes.first() != Some(&b'{') {
            return None;
        }
        // Validated once as a whole: serde_json then reads strings without checking
        // each one's UTF-8 again (as it does for bytes). Same result either way.
        let text = std::str::from_utf8(bytes).ok()?;
        let (body, written) = match kind {
            Kind::Entry => {
                let e: Entry = serde_json::from_str(text).ok()?;
                let w = Shape::of_serialized(&e);
                (Body::Entry(Box::new(e)), w)
            }
            Kind::MappingSet => {
                let m: MappingSet = serde_json::from_str(text).ok()?;
                let w = Shape::of_serialized(&m);
                (Body::MappingSet(Box::new(m)), w)
            }
            Kind::Event => {
                let e: Event = serde_json::from_str(text).ok()?;
                let w = Shape::of_serialized(&e);
                (Body::Event(Box::new(e)), w)
            }
            Kind::Tombstone => {
                let t: Tombstone = serde_json::from_str(text).ok()?;
                let w = Shape::of_serialized(&t);
                (Body::Tombstone(t), w)
            }
            Kind::Membership => {
                let m: MembershipList = serde_json::from_str(text).ok()?;
                let w = Shape::of_serialized(&m);
                (Body::Membership(Box::new(m)), w)
            }
        };
        if written? != shape {
            return None;
        }
        body.validate().ok()?;
        Some(body)
    }

    /// Parse without the semantic rules (for normalising user input before checking).
    pub fn parse_unchecked(kind: Kind, value: &Value) -> Result<Body, FieldErrors> {
        if !value.is_object() {
            return Err(FieldErrors(vec![FieldError::new(
                "",
                "a body must be a JSON object",
            )]));
        }
        Ok(match kind {
            Kind::Entry => Body::Entry(Box::new(typed(value)?)),
            Kind::MappingSet => Body::MappingSet(Box::new(typed(value)?)),
            Kind::Event => Body::Event(Box::new(typed(value)?)),
            Kind::Tombstone => Body::Tombstone(typed(value)?),
            Kind::Membership => Body::Membership(Box::new(typed(value)?)),
        })
    }

    pub fn kind(&self) -> Kind {
        match self {
            Body::Entry(_) => Kind::Entry,
            Body::MappingSet(_) => Kind::MappingSet,
            Body::Event(_) => Kind::Event,
            Body::Tombstone(_) => Kind::Tombstone,
            Body::Membership(_) => Kind::Membership,
        }
    }

    /// The kind and local id of the record this body occupies: its own, or for a
    /// tombstone, the withdrawn record's.
    pub fn slot(&self) -> (Kind, &str) {
        match self {
            Body::Entry(e) => (Kind::Entry, &e.local_id),
            Body::MappingSet(m) => (Kind::MappingSet, &m.local_id),
            Body::Event(e) => (Kind::Event, &e.local_id),
            Body::Tombstone(t) => (t.target_kind, &t.local_id),
            Body::Membership(m) => (Kind::Membership, &m.local_id),
        }
    }

    pub fn normalise(&mut self) {
        match self {
            Body::Entry(e) => e.normalise(),
            Body::MappingSet(m) => m.normalise(),
            Body::Event(e) => e.normalise(),
            Body::Tombstone(_) => {}
            Body::Membership(m) => m.normalise(),
        }
    }

    /// Check every rule; all broken rules are reported, each with its path.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut c = Checker::default();
        match self {
            Body::Entry(e) => e.check(&mut c),
            Body::MappingSet(m) => m.check(&mut c),
            Body::Event(e) => e.check(&mut c),
            Body::Tombstone(t) => t.check(&mut c),
            Body::Membership(m) => m.check(&mut c),
        }
        c.into_result()
    }

    pub fn to_json(&self) -> Value {
        let v = match self {
            Body::Entry(e) => serde_json::to_value(e),
            Body::MappingSet(m) => serde_json::to_value(m),
            Body::Event(e) => serde_json::to_value(e),
            Body::Tombstone(t) => serde_json::to_value(t),
            Body::Membership(m) => serde_json::to_value(m),
        };
        v.unwrap_or(Value::Null)
    }

    /// Who may receive this body, when it says (tombstones follow their target's
    /// scope and are sent wherever the withdrawn record could have gone).
    pub fn scope(&self) -> Scope {
        match self {
            Body::Entry(e) => e.scope(),
            Body::Event(e) => e.scope.unwrap_or_default(),
            Body::MappingSet(_) | Body::Tombstone(_) | Body::Membership(_) => Scope::Federation,
        }
    }

    pub fn as_entry(&self) -> Option<&Entry> {
        match self {
            Body::Entry(e) => Some(e),
            _ => None,
        }
    }
}

/// Where two JSON values first differ (path, what differs), for normal-form errors.
fn first_difference(got: &Value, want: &Value, path: String) -> (String, String) {
    let same = |a: &Value, b: &Value| crate::canonical::encode(a) == crate::canonical::encode(b);
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, gv) in g {
                match w.get(k) {
                    None => {
                        return (
                            join(k),
                            "this member must be left out when empty or null".into(),
                        )
                    }
                    Some(wv) if !same(wv, gv) => return first_difference(gv, wv, join(k)),
                    _ => {}
                }
            }
            (path, "members differ".into())
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                if !same(gv, wv) {
                    return first_difference(gv, wv, format!("{path}[{i}]"));
                }
            }
            (path, "items differ".into())
        }
        (Value::Array(_), Value::Object(_)) => (path, "must be a JSON object, not an array".into()),
        _ => (path, format!("write {want} instead of {got}")),
    }
}

/// Parse user input for `kind`, normalise it, and check every rule: what a publisher
/// does before signing. Returns the body as it will be signed.
pub fn prepare(kind: Kind, value: &Value) -> Result<Body, FieldErrors> {
    let mut body = Body::parse_unchecked(kind, value)?;
    body.normalise();
    body.validate()?;
    Ok(body)
}

/// Guess the kind of a bare body from its fields (for `publish`/`import` without
/// `--kind`): `target_kind` → tombstone, `federation` and `members` → membership
/// list, `mappings` → mapping set, `starts_on` → event, otherwise entry.
pub fn detect_kind(value: &Value) -> Kind {
    let has = |f: &str| value.get(f).is_some();
    if has("target_kind") {
        Kind::Tombstone
    } else if has("federation") && has("members") {
        Kind::Membership
    } else if has("mappings") {
        Kind::MappingSet
    } else if has("starts_on") {
        Kind::Event
    } else {
        Kind::Entry
    }
}
