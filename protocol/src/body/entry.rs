//! The `entry` body: a technology offer or an enterprise technology request
//! (DATA-MODEL.md §2), with every rule of the public contract.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::common::{is_region_of, Checker, Classification, LangMap, Scope};
use crate::codes::Scheme;
use crate::time::Date;

pub const MAX_TITLE_CHARS: usize = 256;
pub const MAX_SUMMARY_CHARS: usize = 500;
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
pub const MAX_KEYWORDS_PER_LANGUAGE: usize = 10;
pub const MAX_KEYWORD_CHARS: usize = 64;
pub const MAX_CLASSIFICATIONS: usize = 32;
pub const MAX_COUNTRIES: usize = 64;
pub const MAX_PATENTS: usize = 64;
pub const MAX_EVENTS: usize = 32;
pub const MAX_VALIDITY_YEARS: i64 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryType {
    Offer,
    Request,
}

impl EntryType {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryType::Offer => "offer",
            EntryType::Request => "request",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferMode {
    Assignment,
    Licence,
    ExclusiveLicence,
    RdCooperation,
    CommissionedRd,
    JointImplementation,
    EquityInvestment,
    TechnicalService,
    Consulting,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trl {
    pub scheme: String,
    pub level: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IprStatus {
    None,
    SecretKnowHow,
    Applied,
    Granted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ipr {
    pub status: IprStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patents: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    University,
    ResearchInstitute,
    Enterprise,
    Hospital,
    Government,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    pub name: LangMap,
    pub kind: OrgKind,
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub amount: String,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negotiable: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub local_id: String,
    pub entry_type: EntryType,
    pub title: LangMap,
    pub summary: LangMap,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub description: LangMap,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keywords: BTreeMap<String, Vec<String>>,
    pub classifications: Vec<Classification>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transfer_modes: Vec<TransferMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trl: Option<Trl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipr: Option<Ipr>,
    pub organisation: Organisation,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_countries: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    pub valid_from: String,
    pub valid_until: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

/// A decimal amount: digits with an optional fraction, no sign, no exponent.
fn is_decimal(s: &str) -> bool {
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    !int.is_empty()
        && int.len() <= 18
        && !frac.is_empty()
        && frac.len() <= 6
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(int.len() > 1 && int.starts_with('0'))
}

impl Entry {
    pub fn scope(&self) -> Scope {
        self.scope.unwrap_or_default()
    }

    /// Normalise what has one normal form (classification codes), before signing.
    pub fn normalise(&mut self) {
        self.classifications
            .iter_mut()
            .for_each(Classification::normalise);
        if let Some(trl) = &mut self.trl {
            trl.scheme = trl.scheme.trim().to_string();
        }
    }

    /// Is the entry valid on `day` (between `valid_from` and `valid_until`, inclusive)?
    pub fn valid_on(&self, day: Date) -> bool {
        match (
            Date::parse(&self.valid_from),
            Date::parse(&self.valid_until),
        ) {
            (Some(from), Some(until)) => from <= day && day <= until,
            _ => false,
        }
    }

    pub fn check(&self, c: &mut Checker) {
        c.local_id("local_id", &self.local_id);
        c.lang_map("title", &self.title, true, MAX_TITLE_CHARS);
        c.lang_map("summary", &self.summary, true, MAX_SUMMARY_CHARS);
        c.lang_map(
            "description",
            &self.description,
            false,
            MAX_DESCRIPTION_CHARS,
        );
        for (lang, words) in &self.keywords {
            let p = format!("keywords.{lang}");
            c.language_tag(&p, lang);
            c.max_items(&p, words, MAX_KEYWORDS_PER_LANGUAGE);
            for (i, w) in words.iter().enumerate() {
                c.text_at(|| format!("{p}[{i}]"), w, MAX_KEYWORD_CHARS);
            }
        }
        if self.classifications.is_empty() {
            c.fail("classifications", "needs at least one {scheme, code}");
        }
        c.max_items(
            "classifications",
            &self.classifications,
            MAX_CLASSIFICATIONS,
        );
        let mut seen = BTreeSet::new();
        for (i, cl) in self.classifications.iter().enumerate() {
            let p = format!("classifications[{i}]");
            c.classification(&p, cl);
            if !seen.insert(cl) {
                c.fail(p, "repeats an earlier classification");
            }
        }
        let offer = self.entry_type == EntryType::Offer;
        if offer && self.transfer_modes.is_empty() {
            c.fail(
                "transfer_modes",
                "an offer needs at least one transfer mode",
            );
        }
        let modes: BTreeSet<_> = self.transfer_modes.iter().collect();
        if modes.len() != self.transfer_modes.len() {
            c.fail("transfer_modes", "lists a mode twice");
        }
        match &self.trl {
            None if offer => c.fail("trl", "an offer needs a maturity level {scheme, level}"),
            None => {}
            Some(trl) => match Scheme::parse(&trl.scheme).filter(|s| s.is_maturity()) {
                None => c.fail(
                    "trl.scheme",
                    format!(
                        "{:?} is not a maturity scale (trl-eu, trl-nasa, gbt22900, cn-stage)",
                        trl.scheme
                    ),
                ),
                Some(s) => {
                    let (lo, hi) = s.level_range().unwrap_or((1, 9));
                    c.ensure((lo..=hi).contains(&trl.level), "trl.level", || {
                        format!("{} is outside {s}'s levels {lo}-{hi}", trl.level)
                    });
                }
            },
        }
        if let Some(ipr) = &self.ipr {
            c.max_items("ipr.patents", &ipr.patents, MAX_PATENTS);
            for (i, p) in ipr.patents.iter().enumerate() {
                c.text(&format!("ipr.patents[{i}]"), p, 64);
            }
        }
        let org = &self.organisation;
        c.lang_map("organisation.name", &org.name, true, MAX_TITLE_CHARS);
        c.country("organisation.country", &org.country);
        if let Some(region) = &org.region {
            c.ensure(
                is_region_of(region, &org.country),
                "organisation.region",
                || {
                    format!(
                        "{region:?} is not an ISO 3166-2 subdivision of {:?} (e.g. \"CN-HB\")",
                        org.country
                    )
                },
            );
        }
        c.max_items("target_countries", &self.target_countries, MAX_COUNTRIES);
        for (i, cc) in self.target_countries.iter().enumerate() {
            if !super::common::is_country(cc) {
                c.country(&format!("target_countries[{i}]"), cc);
            }
        }
        if let Some(price) = &self.price {
            c.ensure(is_decimal(&price.amount), "price.amount", || {
                format!(
                    "{:?} is not a decimal amount such as \"1200000\" or \"99.50\"",
                    price.amount
                )
            });
            c.ensure(
                price.currency.len() == 3 && price.currency.bytes().all(|b| b.is_ascii_uppercase()),
                "price.currency",
                || {
                    format!(
                        "{:?} is not an ISO 4217 currency code such as \"CNY\"",
                        price.currency
                    )
                },
            );
        }
        let from = Date::parse(&self.valid_from);
        let until = Date::parse(&self.valid_until);
        c.ensure(from.is_some(), "valid_from", || {
            format!("{:?} is not a date YYYY-MM-DD", self.valid_from)
        });
        c.ensure(until.is_some(), "valid_until", || {
            format!("{:?} is not a date YYYY-MM-DD", self.valid_until)
        });
        if let (Some(from), Some(until)) = (from, until) {
            if until < from {
                c.fail(
                    "valid_until",
                    format!("{until} is before valid_from {from}"),
                );
            } else if until > from.plus_years(MAX_VALIDITY_YEARS) {
                c.fail(
                    "valid_until",
                    format!(
                        "{until} is more than {MAX_VALIDITY_YEARS} years after valid_from {from}"
                    ),
                );
            }
        }
        c.max_items("events", &self.events, MAX_EVENTS);
        for (i, e) in self.events.iter().enumerate() {
            c.local_id(&format!("events[{i}]"), e);
        }
    }
}
