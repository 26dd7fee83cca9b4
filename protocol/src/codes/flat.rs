//! Flat lists and maturity levels: Chinese technology fields, CN stages, TRL scales.

use super::*;

/// The technology fields of Chinese technology-contract registration (技术合同认定登记).
pub(super) const TECHFIELDS: [&str; 11] = [
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
pub(super) const TECHFIELD_ALIASES: [(&str, &str); 1] =
    [("生物、医药和医疗器械", "生物医药和医疗器械")];

pub(super) fn techfield(s: &str) -> Parsed {
    if let Some(field) = TECHFIELDS.iter().find(|&&f| f == s) {
        return Ok((*field).to_owned());
    }
    if let Some((_, field)) = TECHFIELD_ALIASES.iter().find(|(alias, _)| *alias == s) {
        return Ok((*field).to_owned());
    }
    Err(format!("known fields: {}", TECHFIELDS.join(", ")))
}

/// The stages of cn-stage, level 1 first.
pub(super) const CN_STAGES: [&str; 5] =
    ["正在研发", "已有样品", "通过小试", "通过中试", "可以量产"];

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
pub(super) fn strip_trl(s: &str) -> &str {
    match s.get(..3) {
        Some(prefix) if prefix.eq_ignore_ascii_case("trl") => {
            let rest = s[3..].trim_start();
            rest.strip_prefix('-').unwrap_or(rest).trim_start()
        }
        _ => s,
    }
}

/// A decimal number in `lo..=hi`; leading zeros are dropped.
pub(super) fn level(scheme: Scheme, s: &str, lo: u8, hi: u8) -> Parsed {
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
