//! Spreadsheet rows ↔ entry bodies.
//!
//! [`Mapper`] binds a sheet's header row to fields once, then turns each row into an
//! entry body: cell values are parsed (enumerations, dates, amounts, lists), the body
//! goes through the same `body::prepare` as a JSON body, and every broken rule is
//! reported against the column it came from (`classifications[1].code` → the IPC
//! column). [`Layout`] does the reverse for export, so that export → import gives the
//! same bodies.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::{json, Map, Value};

use techmesh_protocol::body::entry::Entry;
use techmesh_protocol::body::{self, Body, Kind};
use techmesh_protocol::codes::Scheme;
use techmesh_protocol::time::Date;

use super::columns::{fold_header, is_chinese, ColumnMap, Field, Headers};
use super::enums::{self, Vocab};

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
struct Build<'a> {
    m: &'a Mapper,
    row: &'a Row,
    errors: Vec<RowError>,
    /// JSON path prefix → column it came from.
    origins: Vec<(String, usize)>,
    /// Columns with a cell error (their validation errors would repeat it).
    bad: HashSet<usize>,
    /// JSON paths of fields with a cell error, for the same reason.
    bad_paths: Vec<&'static str>,
}

impl<'a> Build<'a> {
    fn cell(&self, f: &Field) -> Option<(usize, &'a str)> {
        let c = *self.m.by_field.get(f)?;
        let v = self.row.cells.get(c).map(|s| s.trim()).unwrap_or("");
        (!v.is_empty()).then_some((c, v))
    }

    fn col(&self, f: &Field) -> Option<usize> {
        self.m.by_field.get(f).copied()
    }

    fn fail(&mut self, f: &Field, message: impl Into<String>) {
        self.bad_paths.extend(json_paths(f));
        let column = self.col(f);
        if let Some(c) = column {
            self.bad.insert(c);
        }
        self.errors.push(RowError {
            column,
            label: f.id(),
            message: message.into(),
        });
    }

    fn origin(&mut self, path: impl Into<String>, col: Option<usize>) {
        if let Some(c) = col {
            self.origins.push((path.into(), c));
        }
    }

    fn vocab(&mut self, f: &Field, v: &Vocab) -> Option<&'static str> {
        let (_, cell) = self.cell(f)?;
        let cell = cell.to_string();
        match v.parse(&cell, self.m.zh) {
            Ok(id) => Some(id),
            Err(e) => {
                self.fail(f, e);
                None
            }
        }
    }

    /// The columns of one language-map field, in language order.
    fn lang_cols(&self, make: super::columns::LangField) -> Vec<(String, usize)> {
        self.m
            .by_field
            .iter()
            .filter_map(|(f, &c)| {
                let probe = match f {
                    Field::Title(l)
                    | Field::Summary(l)
                    | Field::Description(l)
                    | Field::Keywords(l)
                    | Field::OrgName(l) => l.clone(),
                    _ => return None,
                };
                (make(probe.clone()) == *f).then_some((probe, c))
            })
            .collect()
    }

    fn lang_map(&mut self, name: &str, make: super::columns::LangField) -> Map<String, Value> {
        let mut out = Map::new();
        let cols = self.lang_cols(make);
        self.origin(name, cols.first().map(|c| c.1));
        for (lang, c) in cols {
            self.origin(format!("{name}.{lang}"), Some(c));
            if let Some((_, v)) = self.cell(&make(lang.clone())) {
                out.insert(lang, Value::String(v.to_string()));
            }
        }
        out
    }

    fn entry(&mut self) -> Value {
        let mut e = Map::new();
        match self.cell(&Field::Id) {
            Some((c, v)) => {
                e.insert("local_id".into(), json!(v));
                self.origin("local_id", Some(c));
            }
            None => {
                self.fail(&Field::Id, "is empty: every row needs an id");
                e.insert("local_id".into(), json!(""));
            }
        }
        let ty = match self.cell(&Field::Type) {
            Some(_) => self
                .vocab(&Field::Type, &enums::ENTRY_TYPES)
                .map(str::to_string),
            None if self.m.entry_type.is_some() => self.m.entry_type.clone(),
            None => {
                let known = enums::ENTRY_TYPES.known(self.m.zh);
                self.fail(&Field::Type, format!("is empty ({known})"));
                None
            }
        };
        let offer = ty.as_deref() != Some("request");
        e.insert(
            "entry_type".into(),
            json!(ty.unwrap_or_else(|| "offer".into())),
        );
        self.origin("entry_type", self.col(&Field::Type));
        let title = self.lang_map("title", Field::Title);
        e.insert("title".into(), Value::Object(title));
        let summary = self.lang_map("summary", Field::Summary);
        e.insert("summary".into(), Value::Object(summary));
        let description = self.lang_map("description", Field::Description);
        if !description.is_empty() {
            e.insert("description".into(), Value::Object(description));
        }
        self.keywords(&mut e);
        self.classifications(&mut e);
        self.modes(&mut e, offer);
        self.maturity(&mut e);
        self.ipr(&mut e);
        self.organisation(&mut e);
        if let Some(list) = self.countries(&Field::TargetCountries) {
            e.insert("target_countries".into(), json!(list));
        }
        self.origin("target_countries", self.col(&Field::TargetCountries));
        self.price(&mut e);
        self.validity(&mut e);
        if let Some((c, v)) = self.cell(&Field::Events) {
            e.insert("events".into(), json!(split_list(v, LIST_SEPS)));
            self.origin("events", Some(c));
        }
        if let Some(scope) = self.vocab(&Field::Scope, &enums::SCOPES) {
            e.insert("scope".into(), json!(scope));
        }
        self.origin("scope", self.col(&Field::Scope));
        Value::Object(e)
    }

    fn keywords(&mut self, e: &mut Map<String, Value>) {
        let mut out = Map::new();
        for (lang, c) in self.lang_cols(Field::Keywords) {
            self.origin(format!("keywords.{lang}"), Some(c));
            if let Some((_, v)) = self.cell(&Field::Keywords(lang.clone())) {
                out.insert(lang, json!(split_list(v, LIST_SEPS)));
            }
        }
        if !out.is_empty() {
            e.insert("keywords".into(), Value::Object(out));
        }
    }

    fn classifications(&mut self, e: &mut Map<String, Value>) {
        let mut list: Vec<Value> = Vec::new();
        let mut first_col = None;
        for scheme in Scheme::ALL {
            let f = Field::Class(scheme);
            let Some(col) = self.col(&f) else { continue };
            first_col.get_or_insert(col);
            let Some((_, v)) = self.cell(&f) else {
                continue;
            };
            let seps = if scheme == Scheme::CnTechfield {
                FIELD_SEPS
            } else {
                LIST_SEPS
            };
            for item in split_list(v, seps) {
                let code = if scheme == Scheme::Gbt4754 {
                    leading_code(item)
                } else {
                    item
                };
                self.origin(format!("classifications[{}]", list.len()), Some(col));
                list.push(json!({"scheme": scheme.as_str(), "code": code}));
            }
        }
        if let Some(col) = self.col(&Field::Classifications) {
            first_col.get_or_insert(col);
            if let Some((_, v)) = self.cell(&Field::Classifications) {
                let v = v.to_string();
                for item in split_list(&v, LIST_SEPS) {
                    match item.split_once(':').or_else(|| item.split_once('：')) {
                        Some((scheme, code)) => {
                            self.origin(format!("classifications[{}]", list.len()), Some(col));
                            list.push(json!({"scheme": scheme.trim(), "code": code.trim()}));
                        }
                        None => self.fail(
                            &Field::Classifications,
                            format!("{item:?} is not SCHEME:CODE (e.g. nace2:27.20)"),
                        ),
                    }
                }
            }
        }
        self.origin("classifications", first_col);
        e.insert("classifications".into(), Value::Array(list));
    }

    fn modes(&mut self, e: &mut Map<String, Value>, offer: bool) {
        self.origin("transfer_modes", self.col(&Field::Modes));
        let Some((_, v)) = self.cell(&Field::Modes) else {
            if offer && self.col(&Field::Modes).is_some() {
                let known = enums::TRANSFER_MODES.known(self.m.zh);
                self.fail(
                    &Field::Modes,
                    format!("is empty: an offer needs at least one transfer mode ({known})"),
                );
            }
            return;
        };
        let v = v.to_string();
        let mut modes = Vec::new();
        for item in split_list(&v, MODE_SEPS) {
            match enums::TRANSFER_MODES.parse(item, self.m.zh) {
                Ok(id) => modes.push(id),
                Err(err) => self.fail(&Field::Modes, err),
            }
        }
        e.insert("transfer_modes".into(), json!(modes));
    }

    fn maturity(&mut self, e: &mut Map<String, Value>) {
        self.origin("trl", self.col(&Field::Maturity));
        let Some((_, v)) = self.cell(&Field::Maturity) else {
            return;
        };
        match enums::parse_maturity(v, self.m.maturity) {
            Ok((scheme, level)) => {
                e.insert(
                    "trl".into(),
                    json!({"scheme": scheme.as_str(), "level": level}),
                );
            }
            Err(err) => self.fail(&Field::Maturity, err),
        }
    }

    fn ipr(&mut self, e: &mut Map<String, Value>) {
        let status = self.vocab(&Field::IprStatus, &enums::IPR_STATUSES);
        let patents: Vec<String> = self
            .cell(&Field::Patents)
            .map(|(_, v)| {
                split_list(v, LIST_SEPS)
                    .into_iter()
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        self.origin(
            "ipr",
            self.col(&Field::IprStatus).or(self.col(&Field::Patents)),
        );
        self.origin("ipr.patents", self.col(&Field::Patents));
        let status = match status {
            Some(s) => s,
            None if self.cell(&Field::IprStatus).is_some() => return,
            None if !patents.is_empty() => "granted",
            None => return,
        };
        let mut ipr = Map::new();
        ipr.insert("status".into(), json!(status));
        if !patents.is_empty() {
            ipr.insert("patents".into(), json!(patents));
        }
        e.insert("ipr".into(), Value::Object(ipr));
    }

    fn countries(&mut self, f: &Field) -> Option<Vec<String>> {
        let (_, v) = self.cell(f)?;
        let v = v.to_string();
        let mut out = Vec::new();
        for item in split_list(&v, LIST_SEPS) {
            match enums::parse_country(item) {
                Ok(c) => out.push(c),
                Err(err) => self.fail(f, err),
            }
        }
        Some(out)
    }

    fn organisation(&mut self, e: &mut Map<String, Value>) {
        let mut org = Map::new();
        let name = self.lang_map("organisation.name", Field::OrgName);
        org.insert("name".into(), Value::Object(name));
        self.origin(
            "organisation",
            self.lang_cols(Field::OrgName).first().map(|c| c.1),
        );
        self.origin("organisation.kind", self.col(&Field::OrgKind));
        match self.cell(&Field::OrgKind) {
            Some(_) => {
                if let Some(kind) = self.vocab(&Field::OrgKind, &enums::ORG_KINDS) {
                    org.insert("kind".into(), json!(kind));
                }
            }
            None => {
                let known = enums::ORG_KINDS.known(self.m.zh);
                self.fail(&Field::OrgKind, format!("is empty ({known})"));
            }
        }
        // Placeholder after a reported cell error, so the other fields are still checked.
        org.entry("kind").or_insert_with(|| json!("other"));
        let region = match self.cell(&Field::Region) {
            None => None,
            Some((_, v)) => match enums::parse_region(v) {
                Ok(r) => Some(r),
                Err(err) => {
                    self.fail(&Field::Region, err);
                    None
                }
            },
        };
        self.origin("organisation.region", self.col(&Field::Region));
        self.origin("organisation.country", self.col(&Field::Country));
        let country = match self.cell(&Field::Country) {
            Some((_, v)) => match enums::parse_country(v) {
                Ok(c) => Some(c),
                Err(err) => {
                    self.fail(&Field::Country, err);
                    None
                }
            },
            None => region
                .as_deref()
                .and_then(|r| r.split_once('-'))
                .map(|(cc, _)| cc.to_string())
                .or_else(|| self.m.country.clone()),
        };
        match country {
            Some(c) => {
                org.insert("country".into(), json!(c));
            }
            None if self
                .col(&Field::Country)
                .is_some_and(|c| self.bad.contains(&c)) => {}
            None => self.fail(
                &Field::Country,
                "is empty: give the ISO 3166-1 alpha-2 country code (e.g. KE)",
            ),
        }
        org.entry("country").or_insert_with(|| json!(""));
        if let Some(r) = region {
            org.insert("region".into(), json!(r));
        }
        e.insert("organisation".into(), Value::Object(org));
    }

    fn price(&mut self, e: &mut Map<String, Value>) {
        let wan = self.cell(&Field::PriceWan).map(|(_, v)| v.to_string());
        let plain = self.cell(&Field::Price).map(|(_, v)| v.to_string());
        let (field, amount) = match (wan, plain) {
            (Some(_), Some(_)) => {
                self.fail(
                    &Field::Price,
                    format!(
                        "give the price in one column only, not also in {}",
                        self.col(&Field::PriceWan)
                            .map(|c| self.m.header(c).to_string())
                            .unwrap_or_default()
                    ),
                );
                return;
            }
            (Some(w), None) => (Field::PriceWan, w),
            (None, Some(p)) => (Field::Price, p),
            (None, None) => return,
        };
        self.origin("price", self.col(&field));
        self.origin("price.amount", self.col(&field));
        self.origin("price.currency", self.col(&Field::Currency));
        if is_negotiable_word(&amount) {
            return;
        }
        let parsed = if field == Field::PriceWan {
            wan_to_amount(&amount)
        } else {
            clean_amount(&amount)
        };
        let Some(parsed) = parsed else {
            let unit = if field == Field::PriceWan {
                "万元 (10 000 currency units), e.g. 150 or 12.5"
            } else {
                "currency units, e.g. 1500000 or 99.50"
            };
            self.fail(&field, format!("{amount:?} is not an amount in {unit}"));
            return;
        };
        let currency = match self.cell(&Field::Currency) {
            Some((_, c)) => Some(c.to_ascii_uppercase()),
            None => self.m.currency.clone(),
        };
        let Some(currency) = currency else {
            self.fail(
                &Field::Currency,
                "is empty: give the currency of the price (ISO 4217, e.g. USD, CNY)",
            );
            return;
        };
        let mut price = Map::new();
        price.insert("amount".into(), json!(parsed));
        price.insert("currency".into(), json!(currency));
        self.origin("price.negotiable", self.col(&Field::Negotiable));
        if let Some(yes) = self.vocab(&Field::Negotiable, &enums::BOOLS) {
            price.insert("negotiable".into(), json!(yes == "yes"));
        }
        e.insert("price".into(), Value::Object(price));
    }

    fn validity(&mut self, e: &mut Map<String, Value>) {
        let (from, until) = if let Some((c, v)) = self.cell(&Field::Validity) {
            self.origin("valid_from", Some(c));
            self.origin("valid_until", Some(c));
            let dates = scan_dates(v);
            match dates.as_slice() {
                [Ok(a), Ok(b)] => (Some(a.clone()), Some(b.clone())),
                _ => {
                    let bad: Vec<&String> = dates.iter().filter_map(|d| d.as_ref().err()).collect();
                    let msg = match bad.first() {
                        Some(d) => format!("{d:?} is not a date"),
                        None => format!(
                            "{v:?} is not a period such as 2026-03-01至2027-03-01 (two dates)"
                        ),
                    };
                    self.fail(&Field::Validity, msg);
                    (None, None)
                }
            }
        } else {
            let from = self.one_date(&Field::ValidFrom);
            let until = self.one_date(&Field::ValidUntil);
            (from, until)
        };
        if from.is_none() {
            self.missing_date(&Field::ValidFrom);
        }
        if until.is_none() {
            self.missing_date(&Field::ValidUntil);
        }
        e.insert("valid_from".into(), json!(from.unwrap_or_default()));
        e.insert("valid_until".into(), json!(until.unwrap_or_default()));
    }

    fn missing_date(&mut self, f: &Field) {
        let reported = self
            .errors
            .iter()
            .any(|err| err.label == f.id() || err.label == Field::Validity.id());
        if !reported {
            let f = if self.col(f).is_none() {
                &Field::Validity
            } else {
                f
            };
            self.fail(
                f,
                "is empty: every row needs its validity dates (YYYY-MM-DD)",
            );
        }
    }

    fn one_date(&mut self, f: &Field) -> Option<String> {
        let (c, v) = self.cell(f)?;
        let path = if *f == Field::ValidFrom {
            "valid_from"
        } else {
            "valid_until"
        };
        self.origin(path, Some(c));
        let v = v.to_string();
        match scan_dates(&v).as_slice() {
            [Ok(d)] => Some(d.clone()),
            [Err(d)] => {
                self.fail(f, format!("{d:?} is not a date"));
                None
            }
            _ => {
                self.fail(f, format!("{v:?} is not a date such as 2026-03-01"));
                None
            }
        }
    }
}

fn is_negotiable_word(s: &str) -> bool {
    matches!(
        s.trim().to_lowercase().as_str(),
        "面议" | "议价" | "价格面议" | "negotiable" | "tbd" | "n/a"
    )
}

/// `C3841 锂离子电池制造` or `C3841锂离子电池制造` → `C3841`: the code before a name.
fn leading_code(item: &str) -> &str {
    match item
        .char_indices()
        .find(|(_, c)| is_chinese(&c.to_string()))
    {
        Some((i, _)) if i > 0 => item[..i].trim(),
        _ => item,
    }
}

/// Split a plain decimal (thousands separators and spaces allowed) into integer and
/// fraction digits.
fn decimal_parts(s: &str) -> Option<(String, String)> {
    let s: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | '，' | ' ' | '_'))
        .collect();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), f.to_string()),
        None => (s.clone(), String::new()),
    };
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(&int) || !digits(&frac) {
        return None;
    }
    if s.ends_with('.') {
        return None;
    }
    Some((int, frac))
}

fn strip_zeros(int: &str) -> String {
    let t = int.trim_start_matches('0');
    if t.is_empty() {
        "0".into()
    } else {
        t.into()
    }
}

/// An amount in currency units, as written (thousands separators and a 元 suffix
/// dropped, leading zeros removed).
pub fn clean_amount(s: &str) -> Option<String> {
    let s = s.trim().trim_end_matches('元').trim();
    let (int, frac) = decimal_parts(s)?;
    let int = strip_zeros(&int);
    Some(if frac.is_empty() {
        int
    } else {
        format!("{int}.{frac}")
    })
}

/// 万元 → currency units: the decimal point moves four places right. Exact, as
/// strings: `150` → `1500000`, `12.5` → `125000`, `0.009950` → `99.50`.
pub fn wan_to_amount(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s
        .strip_suffix("万元")
        .or_else(|| s.strip_suffix('万'))
        .unwrap_or(s);
    let (int, frac) = decimal_parts(s)?;
    let (int, frac) = if frac.len() >= 4 {
        (format!("{int}{}", &frac[..4]), frac[4..].to_string())
    } else {
        (
            format!("{int}{frac}{}", "0".repeat(4 - frac.len())),
            String::new(),
        )
    };
    let int = strip_zeros(&int);
    Some(if frac.is_empty() {
        int
    } else {
        format!("{int}.{frac}")
    })
}

/// Currency units → 万元, the exact inverse of [`wan_to_amount`] on valid amounts:
/// trailing zeros are dropped only from the integer part's last four digits.
pub fn amount_to_wan(amount: &str) -> String {
    let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
    let padded = format!("{}{int}", "0".repeat(5usize.saturating_sub(int.len())));
    let cut = padded.len() - 4;
    let head = strip_zeros(&padded[..cut]);
    let mid = &padded[cut..];
    let tail = if frac.is_empty() {
        mid.trim_end_matches('0').to_string()
    } else {
        format!("{mid}{frac}")
    };
    if tail.is_empty() {
        head
    } else {
        format!("{head}.{tail}")
    }
}

/// Every date in a cell, in order: `2026-03-01`, `2026/3/1`, `2026.3.1`,
/// `2026年3月1日`, `20260301`; each as `YYYY-MM-DD`, or `Err(text)` when it has the
/// shape of a date but is not one (2026-02-30).
pub fn scan_dates(s: &str) -> Vec<Result<String, String>> {
    let c: Vec<char> = s.chars().collect();
    let digit = |i: usize| c.get(i).is_some_and(|ch| ch.is_ascii_digit());
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if !digit(i) || (i > 0 && digit(i - 1)) {
            i += 1;
            continue;
        }
        let run = (i..c.len()).take_while(|&j| digit(j)).count();
        let num =
            |a: usize, b: usize| -> u32 { c[a..b].iter().collect::<String>().parse().unwrap_or(0) };
        let mut matched: Option<(u32, u32, u32, usize)> = None;
        if run == 8 {
            matched = Some((num(i, i + 4), num(i + 4, i + 6), num(i + 6, i + 8), i + 8));
        } else if run == 4 {
            let sep = c.get(i + 4).copied();
            if let Some(sep @ ('-' | '/' | '.' | '年')) = sep {
                let m0 = i + 5;
                let m_len = (m0..c.len()).take_while(|&j| digit(j)).take(3).count();
                let sep2 = if sep == '年' { '月' } else { sep };
                if (1..=2).contains(&m_len) && c.get(m0 + m_len) == Some(&sep2) {
                    let d0 = m0 + m_len + 1;
                    let d_len = (d0..c.len()).take_while(|&j| digit(j)).take(3).count();
                    if (1..=2).contains(&d_len) {
                        let mut end = d0 + d_len;
                        if sep == '年' && matches!(c.get(end), Some('日' | '号')) {
                            end += 1;
                        }
                        matched =
                            Some((num(i, i + 4), num(m0, m0 + m_len), num(d0, d0 + d_len), end));
                    }
                }
            }
        }
        match matched {
            Some((y, m, d, end)) => {
                let iso = format!("{y:04}-{m:02}-{d:02}");
                if Date::parse(&iso).is_some() {
                    out.push(Ok(iso));
                } else {
                    out.push(Err(c[i..end].iter().collect()));
                }
                i = end;
            }
            None => i += run,
        }
    }
    out
}

/// The columns of an export and how to write each entry into them.
pub struct Layout {
    pub columns: Vec<(Field, String)>,
    zh: bool,
}

/// Fields of the standard export, in order (`*` language columns expand per language).
fn standard_fields(headers: Headers) -> Vec<Field> {
    use Field::*;
    let l = |s: &str| s.to_string();
    let (first, second) = match headers {
        Headers::Zh => ("zh", "en"),
        Headers::En => ("en", "zh"),
    };
    let mut v = vec![
        Id,
        Type,
        Title(l(first)),
        Title(l(second)),
        Summary(l(first)),
        Summary(l(second)),
        Description(l(first)),
        Description(l(second)),
        Keywords(l(first)),
        Keywords(l(second)),
        Class(Scheme::CnTechfield),
        Class(Scheme::Gbt4754),
        Class(Scheme::Ipc),
        Classifications,
        Maturity,
        Modes,
        OrgName(l(first)),
        OrgName(l(second)),
        OrgKind,
        Country,
        Region,
        IprStatus,
        Patents,
    ];
    match headers {
        Headers::Zh => v.extend([Validity, PriceWan]),
        Headers::En => v.extend([ValidFrom, ValidUntil, Price]),
    }
    v.extend([Currency, Negotiable, TargetCountries, Events, Scope]);
    v
}

fn id_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

impl Layout {
    /// The standard columns for `headers`, plus a column for every further language
    /// the entries use; header names from `map`.
    pub fn new(map: &ColumnMap, headers: Headers, entries: &[&Entry]) -> Layout {
        let mut fields = standard_fields(headers);
        let mut extra: BTreeSet<Field> = BTreeSet::new();
        for e in entries {
            extra.extend(e.title.keys().map(|l| Field::Title(l.clone())));
            extra.extend(e.summary.keys().map(|l| Field::Summary(l.clone())));
            extra.extend(e.description.keys().map(|l| Field::Description(l.clone())));
            extra.extend(e.keywords.keys().map(|l| Field::Keywords(l.clone())));
            extra.extend(
                e.organisation
                    .name
                    .keys()
                    .map(|l| Field::OrgName(l.clone())),
            );
        }
        for f in extra {
            if !fields.contains(&f) {
                fields.push(f);
            }
        }
        Layout {
            columns: fields
                .into_iter()
                .map(|f| {
                    let h = map.export_header(&f, headers);
                    (f, h)
                })
                .collect(),
            zh: headers == Headers::Zh,
        }
    }

    pub fn headers(&self) -> Vec<String> {
        self.columns.iter().map(|(_, h)| h.clone()).collect()
    }

    /// The cells of one entry, and warnings about values that will not read back the
    /// same (a list item containing a separator).
    pub fn cells(&self, e: &Entry) -> (Vec<String>, Vec<String>) {
        let zh = self.zh;
        let mut warnings = Vec::new();
        let sep = if zh { "、" } else { "; " };
        let mut join = |what: &str, items: &[String], seps: &[char], sep: &str| -> String {
            for it in items {
                if it.contains(seps) {
                    warnings.push(format!(
                        "{}: {what} item {it:?} contains a list separator and will be split on import",
                        e.local_id
                    ));
                }
            }
            items.join(sep)
        };
        // Classifications: one column per scheme when that reads back in the same
        // order, else all of them as SCHEME:CODE in the classifications column.
        let dedicated: Vec<Scheme> = Scheme::ALL
            .into_iter()
            .filter(|s| self.columns.iter().any(|(f, _)| *f == Field::Class(*s)))
            .collect();
        let mut per_scheme: HashMap<Scheme, Vec<String>> = HashMap::new();
        let mut rest: Vec<String> = Vec::new();
        let mut reordered = Vec::new();
        for s in &dedicated {
            for c in e.classifications.iter().filter(|c| c.scheme == s.as_str()) {
                per_scheme.entry(*s).or_default().push(c.code.clone());
                reordered.push(c.clone());
            }
        }
        for c in &e.classifications {
            if !dedicated.iter().any(|s| s.as_str() == c.scheme) {
                rest.push(format!("{}:{}", c.scheme, c.code));
                reordered.push(c.clone());
            }
        }
        if reordered != e.classifications {
            per_scheme.clear();
            rest = e
                .classifications
                .iter()
                .map(|c| format!("{}:{}", c.scheme, c.code))
                .collect();
        }
        let mut out = Vec::with_capacity(self.columns.len());
        for (f, _) in &self.columns {
            let cell = match f {
                Field::Id => e.local_id.clone(),
                Field::Type => enums::ENTRY_TYPES.word(e.entry_type.as_str(), zh),
                Field::Title(l) => e.title.get(l).cloned().unwrap_or_default(),
                Field::Summary(l) => e.summary.get(l).cloned().unwrap_or_default(),
                Field::Description(l) => e.description.get(l).cloned().unwrap_or_default(),
                Field::Keywords(l) => e
                    .keywords
                    .get(l)
                    .map(|k| join("keyword", k, LIST_SEPS, sep))
                    .unwrap_or_default(),
                Field::OrgName(l) => e.organisation.name.get(l).cloned().unwrap_or_default(),
                Field::Class(s) => {
                    let codes = per_scheme.get(s).cloned().unwrap_or_default();
                    if *s == Scheme::CnTechfield {
                        join(
                            "technology field",
                            &codes,
                            FIELD_SEPS,
                            if zh { "；" } else { "; " },
                        )
                    } else {
                        join("code", &codes, LIST_SEPS, sep)
                    }
                }
                Field::Classifications => join("classification", &rest, LIST_SEPS, sep),
                Field::Maturity => e
                    .trl
                    .as_ref()
                    .map(|t| enums::maturity_word(&t.scheme, t.level, zh))
                    .unwrap_or_default(),
                Field::Modes => {
                    let words: Vec<String> = e
                        .transfer_modes
                        .iter()
                        .map(|m| enums::TRANSFER_MODES.word(&id_of(m), zh))
                        .collect();
                    words.join(sep)
                }
                Field::OrgKind => enums::ORG_KINDS.word(&id_of(&e.organisation.kind), zh),
                Field::Country => enums::country_word(&e.organisation.country, zh),
                Field::Region => e
                    .organisation
                    .region
                    .as_deref()
                    .map(|r| enums::region_word(r, zh))
                    .unwrap_or_default(),
                Field::IprStatus => e
                    .ipr
                    .as_ref()
                    .map(|i| enums::IPR_STATUSES.word(&id_of(&i.status), zh))
                    .unwrap_or_default(),
                Field::Patents => e
                    .ipr
                    .as_ref()
                    .map(|i| join("patent", &i.patents, LIST_SEPS, sep))
                    .unwrap_or_default(),
                Field::Validity => format!("{}至{}", e.valid_from, e.valid_until),
                Field::ValidFrom => e.valid_from.clone(),
                Field::ValidUntil => e.valid_until.clone(),
                Field::Price => e
                    .price
                    .as_ref()
                    .map(|p| p.amount.clone())
                    .unwrap_or_default(),
                Field::PriceWan => e
                    .price
                    .as_ref()
                    .map(|p| amount_to_wan(&p.amount))
                    .unwrap_or_default(),
                Field::Currency => e
                    .price
                    .as_ref()
                    .map(|p| p.currency.clone())
                    .unwrap_or_default(),
                Field::Negotiable => e
                    .price
                    .as_ref()
                    .and_then(|p| p.negotiable)
                    .map(|n| enums::BOOLS.word(if n { "yes" } else { "no" }, zh))
                    .unwrap_or_default(),
                Field::TargetCountries => {
                    let names: Vec<String> = e
                        .target_countries
                        .iter()
                        .map(|c| enums::country_word(c, zh))
                        .collect();
                    names.join(sep)
                }
                Field::Events => join("event", &e.events, LIST_SEPS, sep),
                Field::Scope => e
                    .scope
                    .map(|s| enums::SCOPES.word(s.as_str(), zh))
                    .unwrap_or_default(),
                Field::Ignore => String::new(),
            };
            out.push(cell);
        }
        (out, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_wan_round_trip_exactly() {
        for (wan, amount) in [
            ("150", "1500000"),
            ("12.5", "125000"),
            ("0.01", "100"),
            ("0.009950", "99.50"),
            ("120.00005", "1200000.5"),
            ("123.4567", "1234567"),
            ("0", "0"),
            ("0.00005", "0.5"),
        ] {
            assert_eq!(wan_to_amount(wan).as_deref(), Some(amount), "{wan}");
            assert_eq!(amount_to_wan(amount), wan, "{amount}");
        }
        assert_eq!(wan_to_amount("1,500万元").as_deref(), Some("15000000"));
        assert_eq!(wan_to_amount("150.0").as_deref(), Some("1500000"));
        assert_eq!(wan_to_amount(" 8 ").as_deref(), Some("80000"));
        for bad in ["abc", "-5", "1.2.3", "", "5."] {
            assert_eq!(wan_to_amount(bad), None, "{bad}");
        }
        assert_eq!(clean_amount("1,200,000元").as_deref(), Some("1200000"));
    }

    #[test]
    fn dates_in_common_spellings() {
        let ok =
            |s: &str| -> Vec<String> { scan_dates(s).into_iter().map(|d| d.unwrap()).collect() };
        assert_eq!(ok("2026-03-01至2027-03-01"), ["2026-03-01", "2027-03-01"]);
        assert_eq!(ok("2026/3/1 ~ 2027/2/28"), ["2026-03-01", "2027-02-28"]);
        assert_eq!(
            ok("2026年3月1日到2027年3月1日"),
            ["2026-03-01", "2027-03-01"]
        );
        assert_eq!(ok("2026-03-01-2027-03-01"), ["2026-03-01", "2027-03-01"]);
        assert_eq!(ok("20260301—20270301"), ["2026-03-01", "2027-03-01"]);
        assert_eq!(ok("2026.3.1"), ["2026-03-01"]);
        assert_eq!(scan_dates("2026-02-30"), [Err("2026-02-30".to_string())]);
        assert!(scan_dates("明年").is_empty());
        assert!(scan_dates("12345").is_empty());
    }

    fn mapper(headers: &[&str]) -> Mapper {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        match Mapper::bind(&ColumnMap::builtin(), &headers) {
            Ok(setup) => setup.mapper,
            Err(e) => panic!("{e:?}"),
        }
    }

    fn row(cells: &[&str]) -> Row {
        Row {
            number: 7,
            cells: cells.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn rows_map_to_bodies_and_errors_to_columns() {
        let m = mapper(&[
            "编号",
            "成果名称",
            "成果简介",
            "技术领域",
            "IPC分类号",
            "成熟度",
            "合作方式",
            "所属单位",
            "单位类型",
            "所在地区",
            "关键词",
            "有效期",
        ]);
        assert!(m.is_chinese());
        let good = row(&[
            "x-1",
            "名称",
            "简介",
            "电子信息",
            "g06n 3/08",
            "3",
            "作价投资",
            "某大学",
            "高校",
            "四川",
            "甲、乙",
            "2026-01-01至2026-12-31",
        ]);
        let Body::Entry(e) = m.map_row(&good).unwrap() else {
            panic!("not an entry")
        };
        assert_eq!(e.entry_type.as_str(), "offer");
        assert_eq!(e.classifications[0].code, "G06N 3/08");
        assert_eq!(
            e.trl.as_ref().map(|t| (t.scheme.as_str(), t.level)),
            Some(("cn-stage", 3))
        );
        assert_eq!(e.organisation.region.as_deref(), Some("CN-SC"));
        assert_eq!(e.organisation.country, "CN");
        let long = "长".repeat(70);
        let kw = format!("甲、{long}");
        let mut bad = good.clone();
        bad.cells[4] = "G06N 3/08、H01M/".into();
        bad.cells[10] = kw;
        bad.cells[9] = String::new();
        let errs: Vec<String> = m
            .map_row(&bad)
            .unwrap_err()
            .iter()
            .map(|e| m.describe(e))
            .collect();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(
            errs[1].starts_with("IPC分类号: \"H01M/\" is not an IPC code"),
            "{errs:?}"
        );
        assert_eq!(
            errs[0],
            "关键词: item 2: is 70 characters long, more than 64"
        );
        // A request needs no maturity or transfer mode; an empty cell is not an error.
        let m = mapper(&[
            "id",
            "type",
            "title_en",
            "summary_en",
            "ipc",
            "organisation_en",
            "organisation_kind",
            "country",
            "valid_from",
            "valid_until",
            "transfer_modes",
        ]);
        assert!(!m.is_chinese());
        let r = row(&[
            "r-1",
            "request",
            "T",
            "S",
            "A01G",
            "Org",
            "other",
            "",
            "2026-01-01",
            "2026-02-01",
            "",
        ]);
        let errs: Vec<String> = m
            .map_row(&r)
            .unwrap_err()
            .iter()
            .map(|e| m.describe(e))
            .collect();
        assert_eq!(
            errs,
            ["country: is empty: give the ISO 3166-1 alpha-2 country code (e.g. KE)"]
        );
        let mut r = r;
        r.cells[7] = "ke".into();
        assert!(m.map_row(&r).is_ok());
    }

    #[test]
    fn small_helpers() {
        assert_eq!(leading_code("C3841 锂离子电池制造"), "C3841");
        assert_eq!(leading_code("C3841锂离子电池制造"), "C3841");
        assert_eq!(leading_code("C3841"), "C3841");
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert!(path_under("classifications[1].code", "classifications[1]"));
        assert!(!path_under(
            "classifications[11].code",
            "classifications[1]"
        ));
        assert_eq!(item_index("[3]"), Some(3));
        assert_eq!(
            split_list("技术许可、合作开发/技术入股", MODE_SEPS).len(),
            3
        );
    }
}
