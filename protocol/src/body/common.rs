//! Field types shared by several bodies (language maps, classifications, countries,
//! scopes) and the small checker that collects every broken rule with its path.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::codes::{self, Scheme};
use crate::error::FieldError;

/// Language tag → text. Keys are BCP-47 tags (`zh`, `en`, `fr`, `zh-Hant`, ...).
pub type LangMap = BTreeMap<String, String>;

/// Collects broken rules; each carries the JSON path of its field.
#[derive(Default)]
pub struct Checker {
    pub errors: Vec<FieldError>,
}

impl Checker {
    pub fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(path, message));
    }

    pub fn ensure(&mut self, ok: bool, path: &str, message: impl FnOnce() -> String) {
        if !ok {
            self.fail(path, message());
        }
    }

    /// A publisher-chosen id: 1–128 chars of `[A-Za-z0-9._:-]`.
    pub fn local_id(&mut self, path: &str, id: &str) {
        self.ensure(is_local_id(id), path, || {
            format!("{id:?} is not a local id (1-128 characters of A-Z a-z 0-9 . _ : -)")
        });
    }

    /// A language map with at least one language when `required`, each text non-empty
    /// and at most `max_chars` characters.
    pub fn lang_map(&mut self, path: &str, map: &LangMap, required: bool, max_chars: usize) {
        if required && map.is_empty() {
            self.fail(path, "needs at least one language");
        }
        for (lang, text) in map {
            // The path is built only for a broken rule (this runs for every record).
            if is_language_tag(lang) && text_ok(text, max_chars) {
                continue;
            }
            let p = format!("{path}.{lang}");
            self.language_tag(&p, lang);
            self.text(&p, text, max_chars);
        }
    }

    /// [`Checker::text`] with the path built only if the text breaks a rule.
    pub fn text_at(&mut self, path: impl FnOnce() -> String, text: &str, max_chars: usize) {
        if !text_ok(text, max_chars) {
            self.text(&path(), text, max_chars);
        }
    }

    pub fn text(&mut self, path: &str, text: &str, max_chars: usize) {
        let n = text.chars().count();
        if text.trim().is_empty() {
            self.fail(path, "is empty");
        } else if n > max_chars {
            self.fail(
                path,
                format!("is {n} characters long, more than {max_chars}"),
            );
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            self.fail(path, "contains control characters");
        }
    }

    pub fn language_tag(&mut self, path: &str, tag: &str) {
        self.ensure(is_language_tag(tag), path, || {
            format!("{tag:?} is not a BCP-47 language tag such as \"zh\", \"en\" or \"zh-Hant\"")
        });
    }

    pub fn country(&mut self, path: &str, code: &str) {
        self.ensure(is_country(code), path, || {
            format!("{code:?} is not an ISO 3166-1 alpha-2 country code (e.g. \"CN\", \"KE\")")
        });
    }

    pub fn max_items<T>(&mut self, path: &str, items: &[T], max: usize) {
        if items.len() > max {
            self.fail(path, format!("has {} items, more than {max}", items.len()));
        }
    }

    /// A classification: known scheme, code in that scheme's normal form.
    pub fn classification(&mut self, path: &str, c: &Classification) {
        match Scheme::parse(&c.scheme) {
            None => self.fail(
                format!("{path}.scheme"),
                format!("{:?} is not a known classification scheme", c.scheme),
            ),
            Some(scheme) => match codes::normalise(scheme, &c.code) {
                Err(e) => self.fail(format!("{path}.code"), e.to_string()),
                Ok(normal) if normal != c.code => self.fail(
                    format!("{path}.code"),
                    format!("{:?} is not in normal form (write {normal:?})", c.code),
                ),
                Ok(_) => {}
            },
        }
    }

    pub fn into_result(self) -> Result<(), crate::error::FieldErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(crate::error::FieldErrors(self.errors))
        }
    }
}

/// What [`Checker::text`] accepts: not blank, at most `max_chars` characters, no
/// control characters but newline and tab.
fn text_ok(text: &str, max_chars: usize) -> bool {
    !text.trim().is_empty()
        && text.chars().count() <= max_chars
        && !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
}

pub fn is_local_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// `lang[-subtag]*`: a 2–3 letter lowercase primary language, then subtags of 1–8
/// letters or digits (script `Hant`, region `CN`, ...).
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_lowercase()));
    primary_ok
        && tag.len() <= 35
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// ISO 3166-1 alpha-2 codes, officially assigned.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// A binary search over [`COUNTRIES`] (sorted, three bytes per code).
pub fn is_country(code: &str) -> bool {
    let (list, code) = (COUNTRIES.as_bytes(), code.as_bytes());
    if code.len() != 2 {
        return false;
    }
    let (mut lo, mut hi) = (0, list.len().div_ceil(3));
    while lo < hi {
        let mid = (lo + hi) / 2;
        match list[3 * mid..3 * mid + 2].cmp(code) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// ISO 3166-2 subdivision of `country`: `CC-` then 1–3 uppercase letters or digits.
pub fn is_region_of(region: &str, country: &str) -> bool {
    region
        .strip_prefix(country)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|s| {
            (1..=3).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
}

/// `{scheme, code}`: a code in one classification scheme (DATA-MODEL.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Classification {
    pub scheme: String,
    pub code: String,
}

impl Classification {
    /// Normalise the code in place when the scheme is known and the code valid; leave
    /// it untouched otherwise (validation then reports it).
    pub fn normalise(&mut self) {
        if let Some(scheme) = Scheme::parse(&self.scheme) {
            if let Ok(normal) = codes::normalise(scheme, &self.code) {
                self.code = normal;
            }
        }
    }
}

/// Who may receive a record (DATA-MODEL.md §2 `scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every trusted member (the default).
    #[default]
    Federation,
    /// Members of the publisher's own country only.
    National,
    /// Explicitly shared with international partners too.
    International,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Federation => "federation",
            Scope::National => "national",
            Scope::International => "international",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_tags_countries_regions() {
        assert!(is_local_id("hbtx-2025-000123"));
        assert!(is_local_id("a.b_c:d-e"));
        assert!(!is_local_id(""));
        assert!(!is_local_id("has space"));
        assert!(!is_local_id(&"x".repeat(129)));
        assert!(is_language_tag("zh") && is_language_tag("zh-Hant") && is_language_tag("sw"));
        assert!(!is_language_tag("ZH") && !is_language_tag("chinese") && !is_language_tag("z"));
        assert!(is_country("KE") && is_country("CN") && !is_country("XX") && !is_country("cn"));
        assert!(is_country("AD") && is_country("ZW") && !is_country("AA") && !is_country("ZZ"));
        assert!(!is_country("") && !is_country("C") && !is_country("CNN"));
        // The list is sorted (the search relies on it) and every code is found.
        let codes: Vec<&str> = COUNTRIES.split(' ').collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
        assert!(codes.iter().all(|c| c.len() == 2 && is_country(c)));
        assert!(is_region_of("CN-HB", "CN") && is_region_of("KE-30", "KE"));
        assert!(
            !is_region_of("CN-HB", "KE")
                && !is_region_of("CN-", "CN")
                && !is_region_of("CN-hb", "CN")
        );
    }
}
