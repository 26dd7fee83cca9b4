//! The `mapping_set` body: SSSOM-aligned mappings between two classification schemes,
//! published by a standards authority (DATA-MODEL.md §3).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::common::{Checker, LangMap};
use crate::codes::{self, Scheme};

/// Upper bound on mappings in one record; larger crosswalks are split over several
/// mapping sets (each record stays under the record size limit).
pub const MAX_MAPPINGS: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Predicate {
    Exact,
    Close,
    Broad,
    Narrow,
    Related,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Justification {
    #[default]
    Manual,
    Lexical,
    Chaining,
    Inversion,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub subject: String,
    pub predicate: Predicate,
    pub object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<Justification>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub negated: bool,
}

impl Mapping {
    pub fn confidence(&self) -> f64 {
        self.confidence.unwrap_or(1.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSet {
    pub local_id: String,
    pub title: LangMap,
    pub subject_scheme: String,
    pub object_scheme: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    pub mappings: Vec<Mapping>,
}

impl MappingSet {
    pub fn normalise(&mut self) {
        let (s, o) = (
            Scheme::parse(&self.subject_scheme),
            Scheme::parse(&self.object_scheme),
        );
        for m in &mut self.mappings {
            if let Some(Ok(n)) = s.map(|s| codes::normalise(s, &m.subject)) {
                m.subject = n;
            }
            if let Some(Ok(n)) = o.map(|o| codes::normalise(o, &m.object)) {
                m.object = n;
            }
        }
    }

    pub fn check(&self, c: &mut Checker) {
        c.local_id("local_id", &self.local_id);
        c.lang_map("title", &self.title, true, 256);
        let subject = scheme(c, "subject_scheme", &self.subject_scheme);
        let object = scheme(c, "object_scheme", &self.object_scheme);
        if let Some(l) = &self.license {
            c.text("license", l, 128);
        }
        if self.mappings.is_empty() {
            c.fail("mappings", "needs at least one mapping");
        }
        c.max_items("mappings", &self.mappings, MAX_MAPPINGS);
        let mut seen = BTreeSet::new();
        for (i, m) in self.mappings.iter().enumerate() {
            let p = format!("mappings[{i}]");
            code(c, &format!("{p}.subject"), subject, &m.subject);
            code(c, &format!("{p}.object"), object, &m.object);
            if let Some(conf) = m.confidence {
                c.ensure(
                    (0.0..=1.0).contains(&conf),
                    &format!("{p}.confidence"),
                    || format!("{conf} is outside [0, 1]"),
                );
            }
            if !seen.insert((&m.subject, m.predicate, &m.object)) {
                c.fail(p, "repeats an earlier (subject, predicate, object)");
            }
        }
    }
}

fn scheme(c: &mut Checker, path: &str, s: &str) -> Option<Scheme> {
    let parsed = Scheme::parse(s);
    if parsed.is_none() {
        c.fail(path, format!("{s:?} is not a known classification scheme"));
    }
    parsed
}

fn code(c: &mut Checker, path: &str, scheme: Option<Scheme>, code: &str) {
    if let Some(s) = scheme {
        match codes::normalise(s, code) {
            Err(e) => c.fail(path, e.to_string()),
            Ok(n) if n != code => c.fail(
                path,
                format!("{code:?} is not in normal form (write {n:?})"),
            ),
            Ok(_) => {}
        }
    }
}
