//! Spreadsheet rows ↔ entry bodies.
//!
//! [`Mapper`] binds a sheet's header row to fields once, then turns each row into an
//! entry body: cell values are parsed (enumerations, dates, amounts, lists), the body
//! goes through the same `body::prepare` as a JSON body, and every broken rule is
//! reported against the column it came from (`classifications[1].code` → the IPC
//! column). [`Layout`] does the reverse for export, so that export → import gives the
//! same bodies.

use std::collections::{BTreeMap, HashSet};

use techmesh_protocol::body::{self, Body, Kind};
use techmesh_protocol::codes::Scheme;

use super::columns::{fold_header, is_chinese, ColumnMap, Field};

/// One data row: its spreadsheet row number (header = its own row number, usually 1)
/// and its cells, trimmed.
#[derive(Debug, Clone)]
pub struct Row {
    pub number: usize,
    pub cells: Vec<String>,
}

/// A broken rule in one row: the column (index) when known, else a field label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub column: Option<usize>,
    pub label: String,
    pub message: String,
}

/// Separators of list cells (keywords, codes, patents, countries, events).
const LIST_SEPS: &[char] = &['、', ',', '，', ';', '；', '\n'];
/// Transfer modes may also be separated by `/` and `|`.
const MODE_SEPS: &[char] = &['、', ',', '，', ';', '；', '\n', '/', '|'];
/// Technology fields: a field name may contain `、` (生物、医药和医疗器械).
const FIELD_SEPS: &[char] = &[';', '；', '\n'];

fn split_list<'a>(s: &'a str, seps: &[char]) -> Vec<&'a str> {
    s.split(|c| seps.contains(&c))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// Binds the columns of one sheet to fields and maps its rows.
pub struct Mapper {
    headers: Vec<String>,
    by_field: BTreeMap<Field, usize>,
    zh: bool,
    entry_type: Option<String>,
    country: Option<String>,
    maturity: Scheme,
    currency: Option<String>,
}

/// What setting up a mapper has to say before any row is read.
pub struct Setup {
    pub mapper: Mapper,
    pub notices: Vec<String>,
}

impl Mapper {
    /// Bind `headers`; errors: two columns for one field, required columns missing.
    pub fn bind(map: &ColumnMap, headers: &[String]) -> Result<Setup, Vec<String>> {
        let mut by_field: BTreeMap<Field, usize> = BTreeMap::new();
        let mut errors = Vec::new();
        let mut unknown = Vec::new();
        let (mut zh_headers, mut other_headers) = (0usize, 0usize);
        for (i, h) in headers.iter().enumerate() {
            if h.trim().is_empty() {
                continue;
            }
            match map.field(h) {
                None => unknown.push(h.clone()),
                Some(Field::Ignore) => {}
                Some(f) => {
                    if is_chinese(h) {
                        zh_headers += 1;
                    } else {
                        other_headers += 1;
                    }
                    if let Some(prev) = by_field.insert(f.clone(), i) {
                        errors.push(format!(
                            "columns {} ({}) and {} ({}) both hold {}",
                            column_name(prev),
                            headers[prev],
                            column_name(i),
                            h,
                            f.id()
                        ));
                    }
                }
            }
        }
        let zh = zh_headers >= other_headers;
        let has = |f: &dyn Fn(&Field) -> bool| by_field.keys().any(f);
        let mut missing: Vec<(Field, &str)> = Vec::new();
        if !by_field.contains_key(&Field::Id) {
            missing.push((Field::Id, "id"));
        }
        if !has(&|f| matches!(f, Field::Title(_))) {
            missing.push((Field::Title("zh".into()), "title"));
        }
        if !has(&|f| matches!(f, Field::Summary(_))) {
            missing.push((Field::Summary("zh".into()), "summary"));
        }
        if !has(&|f| matches!(f, Field::Class(_) | Field::Classifications)) {
            missing.push((Field::Class(Scheme::CnTechfield), "classification"));
        }
        if !has(&|f| matches!(f, Field::OrgName(_))) {
            missing.push((Field::OrgName("zh".into()), "organisation"));
        }
        if !by_field.contains_key(&Field::OrgKind) {
            missing.push((Field::OrgKind, "organisation kind"));
        }
        let dates = by_field.contains_key(&Field::Validity)
            || (by_field.contains_key(&Field::ValidFrom)
                && by_field.contains_key(&Field::ValidUntil));
        if !dates {
            missing.push((Field::Validity, "validity dates"));
        }
        for (f, what) in missing {
            let mut accepted = map.accepted(&f);
            if f == Field::Validity {
                accepted.push("有效期起 + 有效期止 / valid_from + valid_until".into());
            }
            errors.push(format!(
                "no column for the {what} (headers accepted: {})",
                accepted.join(", ")
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut notices = Vec::new();
        if !unknown.is_empty() {
            notices.push(format!(
                "column(s) not in the column map, ignored: {} (map them with --columns MAP.toml)",
                unknown.join(", ")
            ));
        }
        let mut entry_type = map.defaults.entry_type.clone();
        if !by_field.contains_key(&Field::Type) && entry_type.is_none() {
            let title_header = by_field
                .iter()
                .find(|(f, _)| matches!(f, Field::Title(_)))
                .map(|(_, &i)| fold_header(&headers[i]))
                .unwrap_or_default();
            let ty = if title_header.starts_with("需求") {
                "request"
            } else {
                "offer"
            };
            notices.push(format!(
                "no 类型/type column: every row is taken as {}",
                if ty == "request" {
                    "a request (需求)"
                } else {
                    "an offer (成果)"
                }
            ));
            entry_type = Some(ty.to_string());
        }
        let d = &map.defaults;
        Ok(Setup {
            mapper: Mapper {
                headers: headers.to_vec(),
                zh,
                entry_type,
                country: d.country.clone().or_else(|| zh.then(|| "CN".to_string())),
                maturity: d.maturity_scheme.unwrap_or(if zh {
                    Scheme::CnStage
                } else {
                    Scheme::TrlEu
                }),
                currency: d.currency.clone().or_else(|| zh.then(|| "CNY".to_string())),
                by_field,
            },
            notices,
        })
    }

    /// Is this a Chinese sheet (Chinese words in messages)?
    pub fn is_chinese(&self) -> bool {
        self.zh
    }

    /// The header of column `i`, as written in the sheet.
    pub fn header(&self, i: usize) -> &str {
        self.headers.get(i).map(|h| h.trim()).unwrap_or("")
    }

    /// Turn one row into a checked entry body, or report every broken rule.
    pub fn map_row(&self, row: &Row) -> Result<Body, Vec<RowError>> {
        let mut b = Build {
            m: self,
            row,
            errors: Vec::new(),
            origins: Vec::new(),
            bad: HashSet::new(),
            bad_paths: Vec::new(),
        };
        let value = b.entry();
        let body = body::prepare(Kind::Entry, &value);
        let Build {
            mut errors,
            origins,
            bad,
            bad_paths,
            ..
        } = b;
        if let Err(field_errors) = body.as_ref() {
            for fe in &field_errors.0 {
                // serde names a missing key in its message: make it part of the path.
                let path = match fe.message.strip_prefix("missing field `") {
                    Some(rest) => {
                        let key = rest.split('`').next().unwrap_or("");
                        if fe.path.is_empty() {
                            key.to_string()
                        } else {
                            format!("{}.{key}", fe.path)
                        }
                    }
                    None => fe.path.clone(),
                };
                if bad_paths.iter().any(|p| path_under(&path, p)) {
                    continue;
                }
                let fe = techmesh_protocol::error::FieldError::new(path, fe.message.clone());
                let found = origins
                    .iter()
                    .filter(|(p, _)| path_under(&fe.path, p))
                    .max_by_key(|(p, _)| p.len());
                match found {
                    Some((prefix, col)) => {
                        if bad.contains(col) {
                            continue;
                        }
                        let mut message = fe.message.clone();
                        if let Some(n) = item_index(&fe.path[prefix.len()..]) {
                            message = format!("item {}: {message}", n + 1);
                        }
                        errors.push(RowError {
                            column: Some(*col),
                            label: fe.path.clone(),
                            message,
                        });
                    }
                    None => errors.push(RowError {
                        column: None,
                        label: if fe.path.is_empty() {
                            "row".into()
                        } else {
                            fe.path.clone()
                        },
                        message: fe.message.clone(),
                    }),
                }
            }
        }
        match body {
            Ok(body) if errors.is_empty() => Ok(body),
            _ => {
                if errors.is_empty() {
                    errors.push(RowError {
                        column: None,
                        label: "row".into(),
                        message: "is not a valid entry".into(),
                    });
                }
                Err(errors)
            }
        }
    }

    /// Render a row error: `HEADER: message`, or `field: message` without a column.
    pub fn describe(&self, e: &RowError) -> String {
        match e.column {
            Some(c) => format!("{}: {}", self.header(c), e.message),
            None => format!("{}: {}", e.label, e.message),
        }
    }

    /// The column holding `field`, if any.
    pub fn column_of(&self, field: &Field) -> Option<usize> {
        self.by_field.get(field).copied()
    }
}

/// The body fields a column fills (to silence repeats of a cell error).
fn json_paths(f: &Field) -> Vec<&'static str> {
    match f {
        Field::Id => vec!["local_id"],
        Field::Type => vec!["entry_type"],
        Field::Class(_) | Field::Classifications => vec!["classifications"],
        Field::Maturity => vec!["trl"],
        Field::Modes => vec!["transfer_modes"],
        Field::OrgKind => vec!["organisation.kind"],
        Field::Country => vec!["organisation.country"],
        Field::Region => vec!["organisation.region"],
        Field::IprStatus | Field::Patents => vec!["ipr"],
        Field::Validity | Field::ValidFrom | Field::ValidUntil => vec!["valid_from", "valid_until"],
        Field::Price | Field::PriceWan | Field::Currency | Field::Negotiable => vec!["price"],
        Field::TargetCountries => vec!["target_countries"],
        Field::Events => vec!["events"],
        Field::Scope => vec!["scope"],
        _ => vec![],
    }
}

/// `A`, `B`, … `AA`: the spreadsheet name of column `i` (0-based).
pub fn column_name(i: usize) -> String {
    let mut n = i + 1;
    let mut s = Vec::new();
    while n > 0 {
        let r = (n - 1) % 26;
        s.push(b'A' + r as u8);
        n = (n - 1) / 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Is JSON path `path` the field `prefix` or inside it?
fn path_under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// `[3]…` → 3: the index of a list item right below a column's field.
fn item_index(rest: &str) -> Option<usize> {
    let inner = rest.strip_prefix('[')?;
    inner.split(']').next()?.parse().ok()
}

/// Building one row's JSON body, collecting cell errors and where each field came from.
mod build;
mod layout;
#[cfg(test)]
mod tests;
mod values;

use build::Build;
pub use layout::Layout;
pub use values::*;
