//! Classification schemes, code normalisation and code hierarchies.
//!
//! Entries classify themselves with `{scheme, code}` pairs (DATA-MODEL §2, §4). The
//! same code reaches a node in many spellings (`H01M10/0525`, `h01m 10/0525`,
//! `H01M 10/0525 (2006.01)`), so every code is reduced to its scheme's one **normal
//! form** before it is signed, compared or indexed. This module knows, per scheme:
//!
//! - which spellings are accepted and what their normal form is ([`normalise`]);
//! - which broader codes lie above a code ([`ancestors`]), so that a query on a broad
//!   code (`H01M`) matches narrower ones (`H01M 10/0525`) ([`covers`]);
//! - for maturity scales, their level range ([`Scheme::level_range`]).
//!
//! Rules common to every scheme: surrounding (Unicode) whitespace is trimmed; empty
//! codes, codes longer than [`MAX_CODE_LEN`] bytes and codes containing control
//! characters are refused. Per-scheme decisions:
//!
//! - `ipc`/`cpc`: levels section `H` → class `H01` → subclass `H01M` → main group
//!   `H01M 10` → subgroup `H01M 10/0525`. A `/00` code (`H01M 10/00`) is a subgroup-level
//!   code under its bare main group `H01M 10`, like any other subgroup: to ask for a
//!   whole main group, use the bare form. The dot hierarchy *between* subgroups is not
//!   modelled (it cannot be derived from the symbols), so all subgroups of one main
//!   group are siblings. Main-group leading zeros are dropped; subgroup digits are kept
//!   as written but must be at least two (`/00`, `/10`, `/0525`).
//! - `een-tech`: 2 to 9 digits kept verbatim (leading zeros are significant:
//!   `04005001` and `004005001` are different codes). 8-digit keywords sit under their
//!   first 5 and first 2 digits, 5-digit ones under their first 2; other lengths are flat.
//! - `wipo35`, `cn-techfield` and the maturity scales are flat: a code covers only itself.
//!   Whether one maturity level is "enough" for another is the caller's question.

use std::fmt;
use std::str::FromStr;

/// Longest accepted code, in bytes, after trimming.
pub const MAX_CODE_LEN: usize = 64;

/// A classification or maturity scheme (DATA-MODEL §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    Ipc,
    Cpc,
    Wipo35,
    Nace2,
    Isic4,
    Gbt4754,
    Gbt13745,
    CnTechfield,
    EenTech,
    TrlEu,
    TrlNasa,
    Gbt22900,
    CnStage,
}

impl Scheme {
    /// Every scheme, in declaration order.
    pub const ALL: [Scheme; 13] = [
        Scheme::Ipc,
        Scheme::Cpc,
        Scheme::Wipo35,
        Scheme::Nace2,
        Scheme::Isic4,
        Scheme::Gbt4754,
        Scheme::Gbt13745,
        Scheme::CnTechfield,
        Scheme::EenTech,
        Scheme::TrlEu,
        Scheme::TrlNasa,
        Scheme::Gbt22900,
        Scheme::CnStage,
    ];

    /// The scheme named by its exact (lowercase) identifier, e.g. `"ipc"`, `"cn-stage"`.
    pub fn parse(s: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|scheme| scheme.as_str() == s)
    }

    /// The identifier used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Ipc => "ipc",
            Scheme::Cpc => "cpc",
            Scheme::Wipo35 => "wipo35",
            Scheme::Nace2 => "nace2",
            Scheme::Isic4 => "isic4",
            Scheme::Gbt4754 => "gbt4754",
            Scheme::Gbt13745 => "gbt13745",
            Scheme::CnTechfield => "cn-techfield",
            Scheme::EenTech => "een-tech",
            Scheme::TrlEu => "trl-eu",
            Scheme::TrlNasa => "trl-nasa",
            Scheme::Gbt22900 => "gbt22900",
            Scheme::CnStage => "cn-stage",
        }
    }

    /// A short human-readable name, as used in messages.
    pub fn display_name(self) -> &'static str {
        match self {
            Scheme::Ipc => "IPC",
            Scheme::Cpc => "CPC",
            Scheme::Wipo35 => "WIPO 35 fields",
            Scheme::Nace2 => "NACE Rev.2",
            Scheme::Isic4 => "ISIC Rev.4",
            Scheme::Gbt4754 => "GB/T 4754",
            Scheme::Gbt13745 => "GB/T 13745",
            Scheme::CnTechfield => "technology field (cn-techfield)",
            Scheme::EenTech => "EEN keyword",
            Scheme::TrlEu => "TRL (EU)",
            Scheme::TrlNasa => "TRL (NASA)",
            Scheme::Gbt22900 => "GB/T 22900",
            Scheme::CnStage => "cn-stage",
        }
    }

    /// True for the maturity scales (`trl-eu`, `trl-nasa`, `gbt22900`, `cn-stage`).
    pub fn is_maturity(self) -> bool {
        self.level_range().is_some()
    }

    /// The inclusive level range of a maturity scale; `None` for classifications.
    pub fn level_range(self) -> Option<(u8, u8)> {
        match self {
            Scheme::TrlEu | Scheme::TrlNasa | Scheme::Gbt22900 => Some((1, 9)),
            Scheme::CnStage => Some((1, 5)),
            _ => None,
        }
    }

    /// "a" or "an", to go before [`Scheme::display_name`] (as the name is spoken).
    fn article(self) -> &'static str {
        match self {
            Scheme::Ipc | Scheme::Isic4 | Scheme::EenTech => "an",
            _ => "a",
        }
    }

    /// One well-formed code, quoted in error hints.
    fn example(self) -> &'static str {
        match self {
            Scheme::Ipc => "H01M 10/0525",
            Scheme::Cpc => "Y02E 60/10",
            Scheme::Wipo35 => "6",
            Scheme::Nace2 => "27.20",
            Scheme::Isic4 => "2720",
            Scheme::Gbt4754 => "C3841",
            Scheme::Gbt13745 => "52020",
            Scheme::CnTechfield => "电子信息",
            Scheme::EenTech => "04001003",
            Scheme::TrlEu | Scheme::TrlNasa | Scheme::Gbt22900 => "6",
            Scheme::CnStage => "4",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scheme {
    type Err = UnknownScheme;

    fn from_str(s: &str) -> Result<Scheme, UnknownScheme> {
        Scheme::parse(s).ok_or_else(|| UnknownScheme(shorten(s)))
    }
}

/// A scheme identifier that is not one of [`Scheme::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown classification scheme {0:?} (known: {known})", known = known_schemes())]
pub struct UnknownScheme(pub String);

fn known_schemes() -> String {
    let names: Vec<&str> = Scheme::ALL.iter().map(|s| s.as_str()).collect();
    names.join(", ")
}

/// A string that is not a code of `scheme`, and why.
///
/// `raw` is the input as given, cut to about 96 bytes (with `…`) when it was longer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{raw:?} is not {article} {name} code ({reason})",
    article = .scheme.article(),
    name = .scheme.display_name()
)]
pub struct CodeError {
    pub scheme: Scheme,
    pub raw: String,
    reason: String,
}

impl CodeError {
    fn new(scheme: Scheme, raw: &str, reason: String) -> CodeError {
        CodeError {
            scheme,
            raw: shorten(raw),
            reason,
        }
    }

    /// Why the code was refused, e.g. `main group digits expected after "H01M" …`.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Cut an echoed input to a bounded length, on a character boundary.
fn shorten(raw: &str) -> String {
    const KEEP: usize = 96;
    if raw.len() <= KEEP {
        return raw.to_owned();
    }
    let mut end = KEEP;
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &raw[..end])
}

/// Per-scheme parse result: the normal form, or the reason for refusal.
type Parsed = Result<String, String>;

/// Normalise a raw code to the scheme's one normal form, or say why it is not a code of
/// that scheme.
///
/// # Errors
///
/// [`CodeError`] when `raw` is not a code of `scheme`; its message names the reason.
pub fn normalise(scheme: Scheme, raw: &str) -> Result<String, CodeError> {
    let s = raw.trim();
    let parsed = if s.is_empty() {
        Err("the code is empty".to_owned())
    } else if s.len() > MAX_CODE_LEN {
        Err(format!("longer than {MAX_CODE_LEN} bytes"))
    } else if s.chars().any(char::is_control) {
        Err("contains a control character".to_owned())
    } else {
        match scheme {
            Scheme::Ipc => patent(s, false),
            Scheme::Cpc => patent(s, true),
            Scheme::Wipo35 => level(scheme, s, 1, 35),
            Scheme::Nace2 => nace2(s),
            Scheme::Isic4 => isic4(s),
            Scheme::Gbt4754 => gbt4754(s),
            Scheme::Gbt13745 => digits_of_len(scheme, s, &[3, 5, 7], "3, 5 or 7 digits"),
            Scheme::CnTechfield => techfield(s),
            Scheme::EenTech => digits_of_len(scheme, s, &[2, 3, 4, 5, 6, 7, 8, 9], "2 to 9 digits"),
            Scheme::TrlEu | Scheme::TrlNasa | Scheme::Gbt22900 => level(scheme, strip_trl(s), 1, 9),
            Scheme::CnStage => match cn_stage_level(s) {
                Some(n) => Ok(n.to_string()),
                None => level(scheme, s, 1, 5).map_err(|_| {
                    format!(
                        "expected a level 1 to 5 or one of: {}",
                        CN_STAGES.join(", ")
                    )
                }),
            },
        }
    };
    parsed.map_err(|reason| CodeError::new(scheme, raw, reason))
}

/// True when `code` is already in normal form (normalise(scheme, code) == Ok(code)).
pub fn is_normal(scheme: Scheme, code: &str) -> bool {
    normalise(scheme, code).is_ok_and(|n| n == code)
}

/// The normalised code and every broader code above it in the scheme's hierarchy,
/// broadest first, ending with `code` itself. Input must be normal; flat schemes return
/// just `[code]`.
///
/// (Leniency: the input is normalised first, so a non-normal spelling works too; a string
/// that is not a code of `scheme` has no ancestors and the result is empty.) Every element
/// is itself a normal code. IPC/CPC: `"H01M 10/0525"` → `["H", "H01", "H01M", "H01M 10",
/// "H01M 10/0525"]`; `"H01M 10/00"` likewise ends `"H01M 10", "H01M 10/00"`.
pub fn ancestors(scheme: Scheme, code: &str) -> Vec<String> {
    let Ok(code) = normalise(scheme, code) else {
        return Vec::new();
    };
    // Lengths of the prefixes that are the hierarchy levels (all these normal forms are ASCII).
    let cuts: &[usize] = match scheme {
        Scheme::Ipc | Scheme::Cpc => return patent_ancestors(code),
        Scheme::Nace2 => &[2, 4, 5],
        Scheme::Isic4 => &[2, 3, 4],
        Scheme::Gbt4754 => &[1, 3, 4, 5],
        Scheme::Gbt13745 => &[3, 5, 7],
        Scheme::EenTech if code.len() == 5 || code.len() == 8 => &[2, 5, 8],
        _ => return vec![code],
    };
    cuts.iter()
        .filter_map(|&n| code.get(..n))
        .map(str::to_owned)
        .collect()
}

/// True when `broader` equals `narrower` or is one of its ancestors (both normal form).
///
/// Both are normalised first; a string that is not a code covers nothing and is
/// covered by nothing.
pub fn covers(scheme: Scheme, broader: &str, narrower: &str) -> bool {
    match normalise(scheme, broader) {
        Ok(broader) => ancestors(scheme, narrower).contains(&broader),
        Err(_) => false,
    }
}

mod flat;
mod industry;
mod patent;
#[cfg(test)]
mod tests;

use flat::*;
pub use flat::{cn_stage_level, cn_stage_name};
use industry::*;
use patent::*;
