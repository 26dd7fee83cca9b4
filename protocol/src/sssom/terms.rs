//! CURIEs, codes, predicates, justifications and licenses: SSSOM terms ↔ techmesh values.

use std::collections::BTreeMap;

use super::{LICENSE_TEXT_BASE, SCHEME_URI_BASE, SEMAPV, SKOS, SPDX, UNSPECIFIED_LICENSE};
use crate::body::mapping::{Justification, Predicate};
use crate::codes::{self, Scheme};

/// Prefixes every SSSOM tool knows without a declaration.
const BUILTIN_PREFIXES: [(&str, &str); 2] = [("skos", SKOS), ("semapv", SEMAPV)];

/// Percent-encode a code for a CURIE local part (everything but `A-Za-z0-9-._~/`).
pub fn encode_code(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    for b in code.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undo [`encode_code`] (any `%XX` is decoded; the result must be UTF-8).
pub fn decode_code(local: &str) -> Result<String, String> {
    let b = local.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(v) => out.push(v),
                None => return Err("a % must be followed by two hex digits".into()),
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-encoded bytes are not UTF-8".into())
}

/// Expand a CURIE or IRI with the curie_map (and the built-in prefixes).
pub(super) fn expand(value: &str, curie_map: &BTreeMap<String, (String, usize)>) -> Option<String> {
    if value.contains("://") {
        return Some(value.to_owned());
    }
    let (prefix, local) = value.split_once(':')?;
    let base = curie_map.get(prefix).map(|(u, _)| u.as_str()).or_else(|| {
        BUILTIN_PREFIXES
            .iter()
            .find(|(p, _)| *p == prefix)
            .map(|(_, u)| *u)
    })?;
    Some(format!("{base}{local}"))
}

/// The scheme a curie_map prefix stands for: by its URI, else by its name (with `_`
/// standing for `-`, as [`write()`](super::write) spells `cn-techfield` as `cn_techfield`).
pub(super) fn prefix_scheme(prefix: &str, uri: &str) -> Option<Scheme> {
    uri.strip_prefix(SCHEME_URI_BASE)
        .map(|rest| rest.trim_end_matches('/'))
        .and_then(Scheme::parse)
        .or_else(|| Scheme::parse(prefix))
        .or_else(|| Scheme::parse(&prefix.replace('_', "-")))
}

/// The curie_map prefix [`write()`](super::write) uses for a scheme: its identifier with `-` → `_`
/// (the reference tool does not recognise CURIEs whose prefix contains `-`).
pub fn curie_prefix(scheme: &str) -> String {
    scheme.replace('-', "_")
}

/// How [`write()`](super::write) refers to `code` of `scheme`: a CURIE, or the full IRI when the
/// encoded code does not start with an ASCII letter or digit (`cn-techfield`'s Chinese
/// names), which the reference tool would not take for a CURIE.
pub fn entity_id(scheme: &str, code: &str) -> String {
    let local = encode_code(code);
    if local.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        format!("{}:{local}", curie_prefix(scheme))
    } else {
        format!("{SCHEME_URI_BASE}{scheme}/{local}")
    }
}

/// Split an entity CURIE (or IRI) into its scheme and raw code.
pub(super) fn entity(
    value: &str,
    curie_map: &BTreeMap<String, (String, usize)>,
) -> Result<(Scheme, String), String> {
    let ours = value
        .strip_prefix(SCHEME_URI_BASE)
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(s, local)| Some((Scheme::parse(s)?, local)));
    let (scheme, local) = if let Some(found) = ours {
        found
    } else if value.contains("://") {
        let found = curie_map
            .iter()
            .filter(|(_, (uri, _))| value.starts_with(uri.as_str()))
            .max_by_key(|(_, (uri, _))| uri.len());
        let Some((prefix, (uri, _))) = found else {
            return Err(format!("{value:?} does not start with any curie_map URI"));
        };
        let Some(s) = prefix_scheme(prefix, uri) else {
            return Err(not_ours(prefix, uri));
        };
        (s, &value[uri.len()..])
    } else {
        let Some((prefix, local)) = value.split_once(':') else {
            return Err(format!("{value:?} is not a CURIE (prefix:code)"));
        };
        let Some((uri, _)) = curie_map.get(prefix) else {
            return Err(format!(
                "{value:?}: prefix {prefix:?} is not declared in curie_map"
            ));
        };
        let Some(s) = prefix_scheme(prefix, uri) else {
            return Err(not_ours(prefix, uri));
        };
        (s, local)
    };
    if local.is_empty() {
        return Err(format!("{value:?} has no code after the prefix"));
    }
    let raw = decode_code(local).map_err(|m| format!("{value:?}: {m}"))?;
    codes::normalise(scheme, &raw)
        .map(|code| (scheme, code))
        .map_err(|e| format!("{value:?} is not a valid {scheme} code ({})", e.reason()))
}

pub(super) fn not_ours(prefix: &str, uri: &str) -> String {
    let known: Vec<&str> = Scheme::ALL.iter().map(|s| s.as_str()).collect();
    format!(
        "prefix {prefix:?} ({uri}) is not a techmesh classification scheme: name the prefix \
         after one of {} or map it to {SCHEME_URI_BASE}<scheme>/",
        known.join(", ")
    )
}

pub(super) fn predicate_from(
    value: &str,
    curie_map: &BTreeMap<String, (String, usize)>,
) -> Result<Predicate, String> {
    let iri = expand(value, curie_map);
    let term = iri.as_deref().and_then(|i| i.strip_prefix(SKOS));
    match term {
        Some("exactMatch") => Ok(Predicate::Exact),
        Some("closeMatch") => Ok(Predicate::Close),
        Some("broadMatch") => Ok(Predicate::Broad),
        Some("narrowMatch") => Ok(Predicate::Narrow),
        Some("relatedMatch") => Ok(Predicate::Related),
        _ => Err(format!(
            "{value:?} is not supported: use skos:exactMatch, skos:closeMatch, \
             skos:broadMatch, skos:narrowMatch or skos:relatedMatch"
        )),
    }
}

pub(super) fn predicate_curie(p: Predicate) -> &'static str {
    match p {
        Predicate::Exact => "skos:exactMatch",
        Predicate::Close => "skos:closeMatch",
        Predicate::Broad => "skos:broadMatch",
        Predicate::Narrow => "skos:narrowMatch",
        Predicate::Related => "skos:relatedMatch",
    }
}

pub(super) fn justification_from(
    value: &str,
    curie_map: &BTreeMap<String, (String, usize)>,
) -> Result<Justification, String> {
    let iri = expand(value, curie_map);
    match iri.as_deref().and_then(|i| i.strip_prefix(SEMAPV)) {
        Some("ManualMappingCuration") => Ok(Justification::Manual),
        Some("LexicalMatching") => Ok(Justification::Lexical),
        Some("MappingChaining") => Ok(Justification::Chaining),
        Some("MappingInversion") => Ok(Justification::Inversion),
        Some(t) if !t.is_empty() => Ok(Justification::Other),
        _ => Err(format!(
            "{value:?} is not a semapv term (e.g. semapv:ManualMappingCuration)"
        )),
    }
}

pub(super) fn justification_curie(j: Justification) -> &'static str {
    match j {
        Justification::Manual => "semapv:ManualMappingCuration",
        Justification::Lexical => "semapv:LexicalMatching",
        Justification::Chaining => "semapv:MappingChaining",
        Justification::Inversion => "semapv:MappingInversion",
        Justification::Other => "semapv:UnspecifiedMatching",
    }
}

pub(super) fn license_from(value: &str) -> Option<String> {
    if value == UNSPECIFIED_LICENSE {
        return None;
    }
    let spdx = value
        .strip_prefix(SPDX)
        .and_then(|id| id.strip_suffix(".html"))
        .filter(|id| is_spdx_id(id));
    if let Some(id) = spdx {
        return Some(id.to_owned());
    }
    let text = value
        .strip_prefix(LICENSE_TEXT_BASE)
        .and_then(|t| decode_code(t).ok());
    Some(text.unwrap_or_else(|| value.to_owned()))
}

pub(super) fn is_spdx_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.+".contains(&b))
}

/// SSSOM requires the license to be a URI: an SPDX id becomes its spdx.org page, a URI
/// stays, any other text is percent-encoded under [`LICENSE_TEXT_BASE`].
pub(super) fn license_uri(license: Option<&str>) -> String {
    match license {
        None => UNSPECIFIED_LICENSE.to_owned(),
        Some(l) if is_spdx_id(l) => format!("{SPDX}{l}.html"),
        Some(l) if l.contains("://") && !l.contains(char::is_whitespace) && l.is_ascii() => {
            l.to_owned()
        }
        Some(l) => format!("{LICENSE_TEXT_BASE}{}", encode_code(l)),
    }
}

pub(super) fn local_id_from(set_id: &str) -> String {
    let trimmed = set_id.trim_end_matches(['/', '#']);
    let last = trimmed.rsplit(['/', '#']).next().unwrap_or(trimmed);
    let last = last
        .strip_suffix(".sssom.tsv")
        .or_else(|| last.strip_suffix(".tsv"))
        .unwrap_or(last);
    let id: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._:-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(128)
        .collect();
    id
}
