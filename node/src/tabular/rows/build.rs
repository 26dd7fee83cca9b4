//! Building one row's entry body from its cells, with errors that name the column.

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use techmesh_protocol::codes::Scheme;

use crate::tabular::columns::Field;
use crate::tabular::enums::{self, Vocab};

use super::*;

pub(super) struct Build<'a> {
    pub(super) m: &'a Mapper,
    pub(super) row: &'a Row,
    pub(super) errors: Vec<RowError>,
    /// JSON path prefix → column it came from.
    pub(super) origins: Vec<(String, usize)>,
    /// Columns with a cell error (their validation errors would repeat it).
    pub(super) bad: HashSet<usize>,
    /// JSON paths of fields with a cell error, for the same reason.
    pub(super) bad_paths: Vec<&'static str>,
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
    fn lang_cols(&self, make: crate::tabular::columns::LangField) -> Vec<(String, usize)> {
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

    fn lang_map(
        &mut self,
        name: &str,
        make: crate::tabular::columns::LangField,
    ) -> Map<String, Value> {
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

    pub(super) fn entry(&mut self) -> Value {
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
