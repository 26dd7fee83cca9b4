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

// ---- ipc / cpc -------------------------------------------------------------------

fn patent(s: &str, cpc: bool) -> Parsed {
    let s = strip_version(s)?;
    let b = s.as_bytes();
    let Some(section) = b.first().map(u8::to_ascii_uppercase) else {
        return Err("the code is empty".to_owned());
    };
    let sections = if cpc { "A to H or Y" } else { "A to H" };
    if !(matches!(section, b'A'..=b'H') || (cpc && section == b'Y')) {
        return Err(format!(
            "the section letter must be {sections}, e.g. \"H01M 10/0525\""
        ));
    }
    let mut out = String::from(char::from(section));
    if b.len() == 1 {
        return Ok(out);
    }
    if b.len() < 3 || !b[1].is_ascii_digit() || !b[2].is_ascii_digit() {
        return Err("the class is two digits after the section, e.g. \"H01\"".to_owned());
    }
    out.push_str(&s[1..3]);
    if b.len() == 3 {
        return Ok(out);
    }
    if !b[3].is_ascii_alphabetic() {
        return Err("the subclass is one letter after the class, e.g. \"H01M\"".to_owned());
    }
    out.push(char::from(b[3].to_ascii_uppercase()));
    // b[0..4] are ASCII, so byte 4 is a character boundary.
    let rest = s[4..].trim_start();
    if rest.is_empty() {
        return Ok(out);
    }
    let main_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (main, after) = rest.split_at(main_len);
    if main.is_empty() || main.len() > 4 {
        return Err(format!(
            "1 to 4 main group digits expected after \"{out}\", e.g. \"H01M 10/0525\""
        ));
    }
    let main = main.trim_start_matches('0');
    if main.is_empty() {
        return Err("the main group number cannot be 0".to_owned());
    }
    out.push(' ');
    out.push_str(main);
    if after.is_empty() {
        return Ok(out);
    }
    let sub = after.strip_prefix('/').ok_or_else(|| {
        "only \"/\" and a subgroup may follow the main group, e.g. \"H01M 10/0525\"".to_owned()
    })?;
    if !(2..=6).contains(&sub.len()) || !sub.bytes().all(|c| c.is_ascii_digit()) {
        return Err(
            "the subgroup is 2 to 6 digits after \"/\", e.g. \"10/00\" or \"10/0525\"".to_owned(),
        );
    }
    out.push('/');
    out.push_str(sub);
    Ok(out)
}

/// Drop a trailing IPC version indication such as `(2006.01)`.
fn strip_version(s: &str) -> Result<&str, String> {
    let Some(body) = s.strip_suffix(')') else {
        return Ok(s);
    };
    let bad = || "a version suffix is written \"(2006.01)\"".to_owned();
    let (code, version) = body.rsplit_once('(').ok_or_else(bad)?;
    let v = version.as_bytes();
    let well_formed = v.len() == 7
        && v[4] == b'.'
        && v.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit());
    let code = code.trim_end();
    if !well_formed || code.is_empty() {
        return Err(bad());
    }
    Ok(code)
}

fn patent_ancestors(code: String) -> Vec<String> {
    let mut out: Vec<String> = [1, 3, 4]
        .iter()
        .filter(|&&n| n < code.len())
        .filter_map(|&n| code.get(..n))
        .map(str::to_owned)
        .collect();
    if let Some((main_group, _)) = code.split_once('/') {
        out.push(main_group.to_owned());
    }
    out.push(code);
    out
}

// ---- industry and subject classifications ------------------------------------------

fn nace2(s: &str) -> Parsed {
    if s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(
            "NACE codes are numeric: leave out the section letter, e.g. \"27.20\"".to_owned(),
        );
    }
    let bad =
        || "expected a division, group or class such as \"27\", \"27.2\" or \"27.20\"".to_owned();
    if !s.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return Err(bad());
    }
    let (division, rest) = match s.split_once('.') {
        Some((d, r)) if !r.is_empty() && r.len() <= 2 => (d, r),
        Some(_) => return Err(bad()),
        None if s.len() >= 2 => s.split_at(2),
        None => return Err(bad()),
    };
    let all_digits = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
    if division.len() != 2 || !all_digits(division) || !all_digits(rest) || rest.len() > 2 {
        return Err(bad());
    }
    if division == "00" {
        return Err("there is no division 00".to_owned());
    }
    Ok(if rest.is_empty() {
        division.to_owned()
    } else {
        format!("{division}.{rest}")
    })
}

fn isic4(s: &str) -> Parsed {
    if s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(
            "ISIC codes are numeric: leave out the section letter, e.g. \"2720\"".to_owned(),
        );
    }
    if s.contains('.') {
        return Err("ISIC codes are written without dots, e.g. \"2720\"".to_owned());
    }
    let code = digits_of_len(Scheme::Isic4, s, &[2, 3, 4], "2 to 4 digits")?;
    if code.starts_with("00") {
        return Err("there is no division 00".to_owned());
    }
    Ok(code)
}

fn gbt4754(s: &str) -> Parsed {
    let Some(first) = s.chars().next() else {
        return Err("the code is empty".to_owned());
    };
    if first.is_ascii_digit() {
        return Err("the section letter is required, e.g. \"C3841\"".to_owned());
    }
    let section = first.to_ascii_uppercase();
    if !section.is_ascii_uppercase() || section > 'T' {
        return Err("the section letter must be A to T, e.g. \"C3841\"".to_owned());
    }
    let digits = &s[first.len_utf8()..];
    let well_formed =
        matches!(digits.len(), 0 | 2 | 3 | 4) && digits.bytes().all(|c| c.is_ascii_digit());
    if !well_formed {
        return Err(
            "a section letter then 2, 3 or 4 digits, e.g. \"C\", \"C38\", \"C384\", \"C3841\""
                .to_owned(),
        );
    }
    if digits.starts_with("00") {
        return Err("there is no division 00".to_owned());
    }
    Ok(format!("{section}{digits}"))
}

/// A digit string of one of the allowed lengths, kept exactly as written.
fn digits_of_len(scheme: Scheme, s: &str, lens: &[usize], what: &str) -> Parsed {
    if lens.contains(&s.len()) && s.bytes().all(|c| c.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err(format!("expected {what}, e.g. \"{}\"", scheme.example()))
    }
}

// ---- flat lists and maturity levels -----------------------------------------------

/// The technology fields of Chinese technology-contract registration (技术合同认定登记).
const TECHFIELDS: [&str; 11] = [
    "电子信息",
    "先进制造",
    "航空航天",
    "现代交通",
    "生物医药和医疗器械",
    "新材料及其应用",
    "新能源与高效节能",
    "环境保护与资源综合利用",
    "核应用",
    "农业",
    "城市建设与社会发展",
];

/// Other spellings of a technology field, and their normal form.
const TECHFIELD_ALIASES: [(&str, &str); 1] = [("生物、医药和医疗器械", "生物医药和医疗器械")];

fn techfield(s: &str) -> Parsed {
    if let Some(field) = TECHFIELDS.iter().find(|&&f| f == s) {
        return Ok((*field).to_owned());
    }
    if let Some((_, field)) = TECHFIELD_ALIASES.iter().find(|(alias, _)| *alias == s) {
        return Ok((*field).to_owned());
    }
    Err(format!("known fields: {}", TECHFIELDS.join(", ")))
}

/// The stages of cn-stage, level 1 first.
const CN_STAGES: [&str; 5] = ["正在研发", "已有样品", "通过小试", "通过中试", "可以量产"];

/// The Chinese name of a cn-stage level (1 = 正在研发 … 5 = 可以量产).
pub fn cn_stage_name(level: u8) -> Option<&'static str> {
    CN_STAGES.get(usize::from(level).checked_sub(1)?).copied()
}

/// The cn-stage level named by `name` (surrounding whitespace ignored).
pub fn cn_stage_level(name: &str) -> Option<u8> {
    let name = name.trim();
    let index = CN_STAGES.iter().position(|&stage| stage == name)?;
    u8::try_from(index + 1).ok()
}

/// Drop an optional `TRL` prefix (any case), then optional spaces and one `-`.
fn strip_trl(s: &str) -> &str {
    match s.get(..3) {
        Some(prefix) if prefix.eq_ignore_ascii_case("trl") => {
            let rest = s[3..].trim_start();
            rest.strip_prefix('-').unwrap_or(rest).trim_start()
        }
        _ => s,
    }
}

/// A decimal number in `lo..=hi`; leading zeros are dropped.
fn level(scheme: Scheme, s: &str, lo: u8, hi: u8) -> Parsed {
    let out_of_range = || {
        format!(
            "expected a number from {lo} to {hi}, e.g. \"{}\"",
            scheme.example()
        )
    };
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(out_of_range());
    }
    let digits = s.trim_start_matches('0');
    match digits.parse::<u8>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n.to_string()),
        _ => Err(out_of_range()),
    }
}

#[cfg(test)]
mod tests {
    use super::Scheme::*;
    use super::*;
    use proptest::prelude::*;

    fn norm(scheme: Scheme, raw: &str) -> String {
        match normalise(scheme, raw) {
            Ok(n) => n,
            Err(e) => panic!("{e}"),
        }
    }

    fn refused(scheme: Scheme, raw: &str) -> CodeError {
        match normalise(scheme, raw) {
            Ok(n) => panic!("{raw:?} normalised to {n:?} but should be refused"),
            Err(e) => e,
        }
    }

    #[test]
    fn scheme_identifiers_round_trip() {
        for scheme in Scheme::ALL {
            assert_eq!(Scheme::parse(scheme.as_str()), Some(scheme));
            assert_eq!(scheme.to_string().parse::<Scheme>(), Ok(scheme));
        }
        assert_eq!(Scheme::parse("IPC"), None);
        assert_eq!(Scheme::parse(" ipc"), None);
        let err = "xyz".parse::<Scheme>().unwrap_err();
        assert!(err
            .to_string()
            .starts_with("unknown classification scheme \"xyz\" (known: ipc, cpc, wipo35,"));
        assert!(err.to_string().ends_with("gbt22900, cn-stage)"));
    }

    #[test]
    fn maturity_scales() {
        let maturity: Vec<Scheme> = Scheme::ALL
            .into_iter()
            .filter(|s| s.is_maturity())
            .collect();
        assert_eq!(maturity, [TrlEu, TrlNasa, Gbt22900, CnStage]);
        assert_eq!(TrlNasa.level_range(), Some((1, 9)));
        assert_eq!(CnStage.level_range(), Some((1, 5)));
        assert_eq!(Ipc.level_range(), None);
    }

    #[test]
    fn ipc_variants() {
        for raw in [
            "H01M 10/0525",
            "H01M10/0525",
            "h01m 10/0525",
            "H01M   10/0525",
            "  H01M 10/0525\n",
            "H01M 010/0525",
            "H01M 10/0525 (2006.01)",
            "h01m10/0525(2010.01)",
        ] {
            assert_eq!(norm(Ipc, raw), "H01M 10/0525", "{raw:?}");
        }
        assert_eq!(norm(Ipc, "a61k31"), "A61K 31");
        assert_eq!(norm(Ipc, "B01D 53"), "B01D 53");
        assert_eq!(norm(Ipc, "A61K 31/00"), "A61K 31/00");
        assert_eq!(norm(Ipc, "g06n"), "G06N");
        assert_eq!(norm(Ipc, "H01"), "H01");
        assert_eq!(norm(Ipc, "h"), "H");
        assert_eq!(norm(Cpc, "y02e 60/10"), "Y02E 60/10");
        assert!(is_normal(Ipc, "H01M 10/0525"));
        assert!(!is_normal(Ipc, "H01M10/0525"));
    }

    #[test]
    fn ipc_malformed() {
        let e = refused(Ipc, "H01M/");
        assert!(
            e.to_string().starts_with(r#""H01M/" is not an IPC code"#),
            "{e}"
        );
        assert_eq!(e.scheme, Ipc);
        assert_eq!(e.raw, "H01M/");
        for raw in [
            "I01M",
            "H1M",
            "H01M 10/",
            "H01M 10/0525X",
            "",
            "   ",
            "H01M 10/5",
            "H01M 0/00",
            "H01M 12345/00",
            "H01M 10/0525 (2006)",
            "H01M 10/0525 2006.01)",
            "Y02E 60/10",
            "H01M\u{7}10/00",
            "H01M 10 /00",
        ] {
            refused(Ipc, raw);
        }
        assert!(refused(Ipc, "H01M 10/5").reason().contains("2 to 6 digits"));
        assert_eq!(
            refused(Cpc, "I01M").to_string(),
            r#""I01M" is not a CPC code (the section letter must be A to H or Y, e.g. "H01M 10/0525")"#
        );
        assert!(refused(Ipc, &"H".repeat(65)).reason().contains("64 bytes"));
        let long = refused(Ipc, &"字".repeat(100));
        assert!(long.raw.ends_with('…') && long.raw.len() < 110);
    }

    #[test]
    fn ipc_and_cpc_hierarchy() {
        assert_eq!(
            ancestors(Ipc, "H01M 10/0525"),
            ["H", "H01", "H01M", "H01M 10", "H01M 10/0525"]
        );
        assert_eq!(
            ancestors(Ipc, "H01M 10/00"),
            ["H", "H01", "H01M", "H01M 10", "H01M 10/00"]
        );
        assert_eq!(ancestors(Ipc, "A61K 31"), ["A", "A61", "A61K", "A61K 31"]);
        assert_eq!(ancestors(Ipc, "H01"), ["H", "H01"]);
        assert_eq!(
            ancestors(Cpc, "Y02E 60/10"),
            ["Y", "Y02", "Y02E", "Y02E 60", "Y02E 60/10"]
        );
        assert_eq!(ancestors(Ipc, "H01M/"), Vec::<String>::new());
        assert!(covers(Ipc, "H01M", "H01M 10/0525"));
        assert!(covers(Ipc, "H01M 10", "H01M 10/0525"));
        assert!(covers(Ipc, "H01M 10/0525", "H01M 10/0525"));
        assert!(covers(Cpc, "Y02E", "Y02E 60/10"));
        assert!(!covers(Ipc, "H01M 10/0525", "H01M"));
        assert!(!covers(Ipc, "H01M 10/00", "H01M 10/0525"));
        assert!(!covers(Ipc, "H01M 1", "H01M 10/0525"));
        assert!(!covers(Ipc, "H02J", "H01M 10/0525"));
        assert!(!covers(Ipc, "A61K 8", "A61K 31"));
    }

    #[test]
    fn industry_codes() {
        assert_eq!(norm(Nace2, "2720"), "27.20");
        assert_eq!(norm(Nace2, "272"), "27.2");
        assert_eq!(norm(Nace2, "27.2"), "27.2");
        assert_eq!(norm(Nace2, " 72.19 "), "72.19");
        assert_eq!(norm(Nace2, "01.11"), "01.11");
        for raw in [
            "C", "C27.20", "2", "27.", "27.200", "27.2.0", "27201", "00.10", "2a",
        ] {
            refused(Nace2, raw);
        }
        assert_eq!(ancestors(Nace2, "27.20"), ["27", "27.2", "27.20"]);
        assert!(covers(Nace2, "27", "2720"));
        assert!(!covers(Nace2, "27.1", "27.20"));

        assert_eq!(norm(Isic4, "2720"), "2720");
        for raw in ["2", "27201", "C2720", "27.20", "0010"] {
            refused(Isic4, raw);
        }
        assert_eq!(ancestors(Isic4, "2720"), ["27", "272", "2720"]);
        assert!(covers(Isic4, "72", "7210"));
        assert!(!covers(Isic4, "721", "7220"));

        for (raw, normal) in [
            ("C", "C"),
            ("c38", "C38"),
            ("C384", "C384"),
            ("c3841", "C3841"),
            ("I6513", "I6513"),
        ] {
            assert_eq!(norm(Gbt4754, raw), normal);
        }
        assert!(refused(Gbt4754, "3841")
            .reason()
            .contains("section letter is required"));
        for raw in ["U3841", "C3", "C38411", "CC38", "C 3841"] {
            refused(Gbt4754, raw);
        }
        assert_eq!(ancestors(Gbt4754, "C3841"), ["C", "C38", "C384", "C3841"]);
        assert!(covers(Gbt4754, "M", "M7320"));
        assert!(!covers(Gbt4754, "C38", "C3941"));

        for raw in ["520", "52020", "5202010"] {
            assert_eq!(norm(Gbt13745, raw), raw);
        }
        for raw in ["52", "5202", "520201", "52020100", "520.20"] {
            refused(Gbt13745, raw);
        }
        assert_eq!(ancestors(Gbt13745, "5202010"), ["520", "52020", "5202010"]);
        assert!(covers(Gbt13745, "520", "52020"));
    }

    #[test]
    fn een_keywords_keep_leading_zeros() {
        assert_eq!(norm(EenTech, "04001003"), "04001003");
        assert_eq!(norm(EenTech, "004005001"), "004005001");
        assert_ne!(norm(EenTech, "004005001"), norm(EenTech, "04005001"));
        for raw in ["4", "0400100300", "04-001-003", "O4001003"] {
            refused(EenTech, raw);
        }
        assert_eq!(ancestors(EenTech, "04001003"), ["04", "04001", "04001003"]);
        assert_eq!(ancestors(EenTech, "04001"), ["04", "04001"]);
        assert_eq!(ancestors(EenTech, "004005001"), ["004005001"]);
        assert!(covers(EenTech, "04", "04005001"));
        assert!(!covers(EenTech, "04", "004005001"));
        assert!(!covers(EenTech, "04005001", "004005001"));
    }

    #[test]
    fn flat_lists() {
        assert_eq!(norm(Wipo35, "06"), "6");
        assert_eq!(norm(Wipo35, "35"), "35");
        for raw in ["0", "36", "6a", "-6", "99999999999999999999"] {
            refused(Wipo35, raw);
        }
        assert_eq!(ancestors(Wipo35, "6"), ["6"]);

        for field in [
            "电子信息",
            "新能源与高效节能",
            "生物医药和医疗器械",
            "城市建设与社会发展",
        ] {
            assert!(is_normal(CnTechfield, field), "{field}");
        }
        assert_eq!(
            norm(CnTechfield, "　生物、医药和医疗器械 "),
            "生物医药和医疗器械"
        );
        let e = refused(CnTechfield, "量子计算");
        assert!(e.to_string().starts_with(
            r#""量子计算" is not a technology field (cn-techfield) code (known fields: 电子信息,"#
        ));
        assert_eq!(ancestors(CnTechfield, "农业"), ["农业"]);
    }

    #[test]
    fn maturity_levels() {
        for scheme in [TrlEu, TrlNasa, Gbt22900] {
            for raw in ["6", "TRL 6", "trl6", "TRL-6", "Trl 06"] {
                assert_eq!(norm(scheme, raw), "6", "{raw:?}");
            }
            for raw in ["0", "10", "TRL", "level 6", "6.5", "TRL6a"] {
                refused(scheme, raw);
            }
        }
        assert_eq!(norm(CnStage, "通过中试"), "4");
        assert_eq!(norm(CnStage, "5"), "5");
        assert!(refused(CnStage, "6").reason().contains("正在研发"));
        refused(CnStage, "TRL 3");
        assert_eq!(cn_stage_name(1), Some("正在研发"));
        assert_eq!(cn_stage_name(5), Some("可以量产"));
        assert_eq!(cn_stage_name(0), None);
        assert_eq!(cn_stage_name(6), None);
        for level in 1..=5 {
            assert_eq!(cn_stage_name(level).and_then(cn_stage_level), Some(level));
        }
        assert_eq!(cn_stage_level("量产"), None);
        assert!(!covers(TrlEu, "5", "6"));
    }

    #[test]
    fn fixture_codes_normalise() {
        let codes = [
            (Ipc, "H02J"),
            (Ipc, "C12N"),
            (Ipc, "A61K 8"),
            (Wipo35, "27"),
            (Nace2, "62.01"),
            (Isic4, "6201"),
            (Gbt4754, "M7320"),
            (EenTech, "01003003"),
            (TrlEu, "5"),
        ];
        for (scheme, code) in codes {
            assert!(is_normal(scheme, code), "{scheme} {code}");
        }
    }

    fn plausible_code() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-hA-HyYiI][0-9]{1,2}[a-zA-Z]? *[0-9]{0,5}(/[0-9]{0,7})?( ?\\(20[0-9]{2}\\.0[0-9]\\))?",
            "[a-uA-U]?[0-9]{1,5}(\\.[0-9]{1,3})?",
            "(TRL|trl)?[ -]?[0-9]{1,3}",
            "(电子信息|农业|生物、医药和医疗器械|正在研发|可以量产|量子)",
            "\\PC{0,12}",
        ]
    }

    proptest! {
        #[test]
        fn normalise_is_idempotent_and_ancestors_cover(
            scheme in prop::sample::select(Scheme::ALL.to_vec()),
            raw in plausible_code(),
        ) {
            if let Ok(normal) = normalise(scheme, &raw) {
                prop_assert_eq!(normalise(scheme, &normal), Ok(normal.clone()));
                prop_assert!(is_normal(scheme, &normal));
                let chain = ancestors(scheme, &normal);
                prop_assert_eq!(chain.last(), Some(&normal));
                for ancestor in &chain {
                    prop_assert!(is_normal(scheme, ancestor), "{} is not normal", ancestor);
                    prop_assert!(covers(scheme, ancestor, &normal));
                }
            } else {
                prop_assert!(ancestors(scheme, &raw).is_empty());
            }
        }
    }
}
