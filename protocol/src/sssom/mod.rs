//! SSSOM/TSV import and export of mapping sets (DATA-MODEL §3).
//!
//! # What is read
//!
//! A file is a YAML header — every line starting with `#`, read without its leading
//! `#`s (so `# # text` is a YAML comment) — then a tab-separated table
//! whose first line names the columns. The header is read as the YAML subset SSSOM
//! files use: `key: value` scalars (plain, `"double"` or `'single'` quoted, possibly
//! folded over more-indented continuation lines), nested
//! blocks under a key with no value (`curie_map:` followed by indented `prefix: uri`
//! lines; `- item` lists are accepted and ignored), comments and blank lines. Flow
//! collections (`{…}`, `[…]`) are refused.
//!
//! Required header keys: `curie_map`, `mapping_set_id`, `license`. The set's
//! `local_id` is the last path segment of `mapping_set_id` (without a `.sssom.tsv` or
//! `.tsv` suffix), every character outside `A-Za-z0-9._:-` replaced by `-`. The title
//! is `mapping_set_title`, else `mapping_set_description`, else the `local_id`, as
//! `{"en": …}`. The license is kept as written, except that
//! `https://spdx.org/licenses/<ID>.html` becomes the SPDX id `<ID>` (`CC-BY-4.0`),
//! [`LICENSE_TEXT_BASE`]`<percent-encoded text>` becomes the text, and
//! [`UNSPECIFIED_LICENSE`] becomes no license (SSSOM requires a license URI; [`write()`]
//! does the reverse).
//!
//! Required columns: `subject_id`, `predicate_id`, `object_id`, `mapping_justification`;
//! `confidence` and `predicate_modifier` (`Not` → negated) are read; every other column
//! is ignored. Values may be `"quoted"`. A `|`-separated multi-value is an error in
//! `subject_id`, `predicate_id` and `object_id` (SSSOM allows it only in multivalued
//! slots); elsewhere the first value is kept.
//!
//! # Schemes in CURIEs
//!
//! `subject_id`/`object_id` are CURIEs `prefix:code` whose prefix must be declared in
//! `curie_map`. The prefix names a techmesh scheme when its URI is
//! `https://w3id.org/techmesh/scheme/<scheme>/` ([`SCHEME_URI_BASE`]; any prefix name
//! then works), or else when the prefix itself is a scheme identifier (`ipc`, `nace2`,
//! `gbt4754`, ...; `_` may stand for `-`: `cn_techfield`). Full IRIs under a curie_map
//! URI are accepted as well, and IRIs under [`SCHEME_URI_BASE`] even without one. Because CURIE local parts may not contain spaces or
//! non-ASCII characters, codes are written percent-encoded (`ipc:H01M%2010/0525`);
//! import decodes them (and tolerates raw spaces) and then normalises every code
//! ([`crate::codes::normalise`]). All subjects must share one scheme and all objects one
//! scheme: one mapping set relates one pair of schemes.
//!
//! The reference tool takes a value for a CURIE only if its prefix is made of
//! `A-Za-z0-9_.` and its local part starts with `A-Za-z0-9_`; otherwise it silently
//! drops the prefix from `curie_map` when it rewrites the file. So [`write()`] names the
//! prefixes with `_` for `-` (`een_tech`, `trl_eu`, `cn_techfield`; [`curie_prefix`])
//! and writes a code whose encoding starts with `%` (the Chinese `cn-techfield` names)
//! as a full IRI, `https://w3id.org/techmesh/scheme/cn-techfield/%E7%94%B5…`
//! ([`entity_id`]).
//!
//! `predicate_id` is one of `skos:exactMatch`, `closeMatch`, `broadMatch`,
//! `narrowMatch`, `relatedMatch` (as a CURIE or full IRI). `mapping_justification`
//! is a `semapv:` term: `ManualMappingCuration` → manual, `LexicalMatching` → lexical,
//! `MappingChaining` → chaining, `MappingInversion` → inversion, any other → other.
//!
//! # Errors
//!
//! Every problem is reported, each naming the file, the line and the column:
//! `file.sssom.tsv:12: object_id: "isic4:27.20" is not a valid isic4 code (…)`. A file
//! with any error yields no mapping set at all.
//!
//! # What is written
//!
//! [`write()`] emits the header (`curie_map` with the two schemes, `skos` and `semapv`;
//! `mapping_set_id` = [`MAPPING_SET_URI_BASE`]`<local_id>`; `license`;
//! `mapping_set_title` from the `en` title, else the first one) and one row per
//! mapping. The output is valid for the reference `sssom` tool (`sssom validate`), and
//! [`parse`] of it gives back the same mapping set.

mod header;
mod terms;

use std::collections::HashMap;
use std::fmt;

use crate::body::mapping::{Mapping, MappingSet, Predicate};
use crate::codes::Scheme;
use header::parse_header;
pub use terms::{curie_prefix, decode_code, encode_code, entity_id};
use terms::{
    entity, justification_curie, justification_from, license_from, license_uri, local_id_from,
    predicate_curie, predicate_from,
};

/// `curie_map` URI of a techmesh scheme: this base, the scheme identifier, `/`.
pub const SCHEME_URI_BASE: &str = "https://w3id.org/techmesh/scheme/";
/// `mapping_set_id` of an exported set: this base then its `local_id`.
pub const MAPPING_SET_URI_BASE: &str = "https://w3id.org/techmesh/mapping-set/";
/// The SSSOM license value for "not stated" (a set without a license).
pub const UNSPECIFIED_LICENSE: &str = "https://w3id.org/sssom/license/unspecified";

/// Base of the license URI written for a license that is neither an SPDX id nor a URI.
pub const LICENSE_TEXT_BASE: &str = "https://w3id.org/techmesh/license/";

const SKOS: &str = "http://www.w3.org/2004/02/skos/core#";
const SEMAPV: &str = "https://w3id.org/semapv/vocab/";
const SPDX: &str = "https://spdx.org/licenses/";

/// One problem in an SSSOM file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SssomError {
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// The header key or table column concerned.
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for SssomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(c) = &self.column {
            write!(f, "{c}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for SssomError {}

/// All the errors of one file, one per line when displayed.
pub fn display_errors(errors: &[SssomError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

struct Errors<'a> {
    file: &'a str,
    list: Vec<SssomError>,
}

impl Errors<'_> {
    fn add(&mut self, line: usize, column: Option<&str>, message: impl Into<String>) {
        self.list.push(SssomError {
            file: self.file.to_owned(),
            line,
            column: column.map(str::to_owned),
            message: message.into(),
        });
    }
}
// ---- parse ----------------------------------------------------------------------------

/// A TSV field, unquoted.
fn field(raw: &str) -> String {
    let raw = raw.trim();
    match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) if raw.len() >= 2 => inner.replace("\"\"", "\""),
        _ => raw.to_owned(),
    }
}

const REQUIRED_COLUMNS: [&str; 4] = [
    "subject_id",
    "predicate_id",
    "object_id",
    "mapping_justification",
];
const SINGLE_VALUED: [&str; 3] = ["subject_id", "predicate_id", "object_id"];

/// Parse SSSOM/TSV `text` (named `file` in messages) into one mapping set, or every
/// problem found.
pub fn parse(file: &str, text: &str) -> Result<MappingSet, Vec<SssomError>> {
    let mut e = Errors {
        file,
        list: Vec::new(),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .collect();
    let header_len = lines.iter().take_while(|(_, l)| l.starts_with('#')).count();
    let h = parse_header(&lines[..header_len], &mut e);
    let first_table_line = lines.get(header_len).map_or(lines.len() + 1, |(n, _)| *n);

    // Required metadata.
    let meta_line = |key: &str| h.scalars.get(key).map_or(1, |(_, n)| *n);
    if h.curie_map.is_empty() {
        let n = h.curie_map_line.unwrap_or(1);
        e.add(n, Some("curie_map"), "missing or empty in the YAML header");
    }
    for (prefix, (uri, n)) in &h.curie_map {
        if uri.is_empty() {
            e.add(
                *n,
                Some("curie_map"),
                format!("prefix {prefix:?} has no URI"),
            );
        }
    }
    let get = |key: &str| {
        h.scalars
            .get(key)
            .map(|(v, _)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let mut local_id = String::new();
    match get("mapping_set_id") {
        None => e.add(1, Some("mapping_set_id"), "missing in the YAML header"),
        Some(id) => {
            local_id = local_id_from(id);
            if local_id.is_empty() {
                e.add(
                    meta_line("mapping_set_id"),
                    Some("mapping_set_id"),
                    format!("{id:?} does not end with a usable name"),
                );
            }
        }
    }
    let license = match get("license") {
        None => {
            e.add(1, Some("license"), "missing in the YAML header");
            None
        }
        Some(l) => {
            // The bound is the mapping set's (128 characters), on the license as it
            // will be stored: a text license comes percent-encoded in a longer URI
            // (as `write()` makes it), so the URI itself may be longer.
            let license = license_from(l);
            if license.as_deref().is_some_and(|x| x.chars().count() > 128) {
                e.add(
                    meta_line("license"),
                    Some("license"),
                    "longer than 128 characters",
                );
            }
            license
        }
    };
    let (title_key, title) = match (get("mapping_set_title"), get("mapping_set_description")) {
        (Some(t), _) => ("mapping_set_title", t.to_owned()),
        (None, Some(d)) => ("mapping_set_description", d.to_owned()),
        (None, None) => ("mapping_set_id", local_id.clone()),
    };
    if title.chars().count() > 256 {
        e.add(
            meta_line(title_key),
            Some(title_key),
            "longer than 256 characters",
        );
    }
    if title
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        e.add(
            meta_line(title_key),
            Some(title_key),
            "contains control characters",
        );
    }

    // The table.
    let mut table = lines[header_len..]
        .iter()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some(&(header_line, header_row)) = table.next() else {
        e.add(
            first_table_line,
            None,
            "no table: expected a header row after the YAML header",
        );
        return Err(e.list);
    };
    let columns: Vec<String> = header_row.split('\t').map(field).collect();
    let mut col = HashMap::new();
    for (i, c) in columns.iter().enumerate() {
        if col.insert(c.as_str(), i).is_some() {
            e.add(header_line, Some(c), "column repeated");
        }
    }
    for required in REQUIRED_COLUMNS {
        if !col.contains_key(required) {
            e.add(header_line, Some(required), "required column missing");
        }
    }
    if REQUIRED_COLUMNS.iter().any(|c| !col.contains_key(c)) {
        return Err(e.list);
    }

    let mut schemes: [Option<(Scheme, usize)>; 2] = [None, None];
    let mut mappings = Vec::new();
    let mut seen: HashMap<(String, Predicate, String), usize> = HashMap::new();
    let mut rows = 0;
    for &(n, row) in table {
        rows += 1;
        let fields: Vec<&str> = row.split('\t').collect();
        if fields.len() > columns.len() {
            e.add(
                n,
                None,
                format!(
                    "{} fields, but the header has {} columns",
                    fields.len(),
                    columns.len()
                ),
            );
            continue;
        }
        let errors_before = e.list.len();
        let value = |name: &str, e: &mut Errors| -> Option<String> {
            let v = field(fields.get(*col.get(name)?).copied().unwrap_or(""));
            if v.contains('|') {
                if SINGLE_VALUED.contains(&name) {
                    e.add(
                        n,
                        Some(name),
                        format!(
                            "{v:?} has several values separated by \"|\"; {name} takes exactly one"
                        ),
                    );
                    return None;
                }
                return v.split('|').next().map(|s| s.trim().to_owned());
            }
            Some(v)
        };
        let mut ends = Vec::with_capacity(2);
        for (i, name) in ["subject_id", "object_id"].into_iter().enumerate() {
            let Some(v) = value(name, &mut e) else {
                continue;
            };
            if v.is_empty() {
                e.add(n, Some(name), "empty");
                continue;
            }
            match entity(&v, &h.curie_map) {
                Ok((scheme, code)) => {
                    match schemes[i] {
                        None => schemes[i] = Some((scheme, n)),
                        Some((s, first)) if s != scheme => e.add(
                            n,
                            Some(name),
                            format!(
                                "{v:?} is a {scheme} code, but line {first} has a {s} code: \
                                 one mapping set relates one pair of schemes"
                            ),
                        ),
                        Some(_) => {}
                    }
                    ends.push(code);
                }
                Err(m) => e.add(n, Some(name), m),
            }
        }
        let predicate = value("predicate_id", &mut e).and_then(|v| {
            predicate_from(&v, &h.curie_map)
                .map_err(|m| e.add(n, Some("predicate_id"), m))
                .ok()
        });
        let justification = value("mapping_justification", &mut e).and_then(|v| {
            justification_from(&v, &h.curie_map)
                .map_err(|m| e.add(n, Some("mapping_justification"), m))
                .ok()
        });
        let confidence = match value("confidence", &mut e).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => match v.parse::<f64>() {
                Ok(c) if (0.0..=1.0).contains(&c) => Some(c),
                _ => {
                    e.add(
                        n,
                        Some("confidence"),
                        format!("{v:?} is not a number from 0 to 1"),
                    );
                    None
                }
            },
        };
        let negated = match value("predicate_modifier", &mut e).as_deref() {
            None | Some("") => false,
            Some("Not") => true,
            Some(v) => {
                e.add(
                    n,
                    Some("predicate_modifier"),
                    format!("{v:?} is not a predicate modifier (only \"Not\" exists)"),
                );
                false
            }
        };
        if e.list.len() > errors_before {
            continue;
        }
        let (Some(predicate), Some(justification), [subject, object]) = (
            predicate,
            justification,
            <[String; 2]>::try_from(ends).unwrap_or_default(),
        ) else {
            continue;
        };
        if let Some(first) = seen.insert((subject.clone(), predicate, object.clone()), n) {
            e.add(
                n,
                None,
                format!("repeats the mapping of line {first} (same subject, predicate and object)"),
            );
            continue;
        }
        mappings.push(Mapping {
            subject,
            predicate,
            object,
            confidence,
            justification: Some(justification),
            negated,
        });
    }
    if rows == 0 {
        e.add(header_line, None, "the table has no mappings");
    }
    if !e.list.is_empty() {
        return Err(e.list);
    }
    let (Some((subject, _)), Some((object, _))) = (schemes[0], schemes[1]) else {
        e.add(header_line, None, "the table has no mappings");
        return Err(e.list);
    };
    Ok(MappingSet {
        local_id,
        title: [("en".to_owned(), title)].into(),
        subject_scheme: subject.as_str().to_owned(),
        object_scheme: object.as_str().to_owned(),
        license,
        mappings,
    })
}

// ---- write ----------------------------------------------------------------------------

/// Write `set` as SSSOM/TSV (see the module docs). Unknown scheme identifiers are
/// written as they are (a validated set has none).
pub fn write(set: &MappingSet) -> String {
    let mut out = String::from("# curie_map:\n");
    let mut prefixes: Vec<(String, String)> = Vec::new();
    for s in [&set.subject_scheme, &set.object_scheme] {
        let prefix = curie_prefix(s);
        if !prefixes.iter().any(|(p, _)| *p == prefix) {
            prefixes.push((prefix, format!("{SCHEME_URI_BASE}{s}/")));
        }
    }
    prefixes.push(("semapv".into(), SEMAPV.to_owned()));
    prefixes.push(("skos".into(), SKOS.to_owned()));
    for (p, uri) in &prefixes {
        out.push_str(&format!("#   {p}: {uri}\n"));
    }
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    out.push_str(&format!(
        "# license: {}\n",
        quote(&license_uri(set.license.as_deref()))
    ));
    out.push_str(&format!(
        "# mapping_set_id: {}\n",
        quote(&format!("{MAPPING_SET_URI_BASE}{}", set.local_id))
    ));
    let title = set.title.get("en").or_else(|| set.title.values().next());
    if let Some(t) = title {
        out.push_str(&format!("# mapping_set_title: {}\n", quote(t)));
    }
    let negations = set.mappings.iter().any(|m| m.negated);
    let confidences = set.mappings.iter().any(|m| m.confidence.is_some());
    let mut header = vec!["subject_id", "predicate_id"];
    if negations {
        header.push("predicate_modifier");
    }
    header.extend(["object_id", "mapping_justification"]);
    if confidences {
        header.push("confidence");
    }
    out.push_str(&header.join("\t"));
    out.push('\n');
    for m in &set.mappings {
        let mut row = vec![
            entity_id(&set.subject_scheme, &m.subject),
            predicate_curie(m.predicate).to_owned(),
        ];
        if negations {
            row.push(if m.negated {
                "Not".into()
            } else {
                String::new()
            });
        }
        row.push(entity_id(&set.object_scheme, &m.object));
        row.push(justification_curie(m.justification.unwrap_or_default()).to_owned());
        if confidences {
            row.push(m.confidence.map(|c| c.to_string()).unwrap_or_default());
        }
        out.push_str(&row.join("\t"));
        out.push('\n');
    }
    out
}

/// Split a set larger than `max` mappings into parts of at most `max` (one record each),
/// local ids `<local_id>.part1`, `.part2`, ...; a small set is returned unchanged.
pub fn split(set: MappingSet, max: usize) -> Vec<MappingSet> {
    let max = max.max(1);
    if set.mappings.len() <= max {
        return vec![set];
    }
    let parts = set.mappings.len().div_ceil(max);
    let suffix_room = format!(".part{parts}").len();
    let base: String = set.local_id.chars().take(128 - suffix_room).collect();
    set.mappings
        .chunks(max)
        .enumerate()
        .map(|(i, chunk)| MappingSet {
            local_id: format!("{base}.part{}", i + 1),
            mappings: chunk.to_vec(),
            ..set.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests;
