//! Export: the columns of a sheet and how each entry is written into them, so that
//! export → import gives the same bodies.

use std::collections::{BTreeSet, HashMap};

use techmesh_protocol::body::entry::Entry;
use techmesh_protocol::codes::Scheme;

use crate::tabular::columns::{ColumnMap, Field, Headers};
use crate::tabular::enums;

use super::*;

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
