//! Industry and subject classifications: NACE Rev. 2, ISIC Rev. 4, GB/T 4754.

use super::*;

pub(super) fn nace2(s: &str) -> Parsed {
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

pub(super) fn isic4(s: &str) -> Parsed {
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

pub(super) fn gbt4754(s: &str) -> Parsed {
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
pub(super) fn digits_of_len(scheme: Scheme, s: &str, lens: &[usize], what: &str) -> Parsed {
    if lens.contains(&s.len()) && s.bytes().all(|c| c.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err(format!("expected {what}, e.g. \"{}\"", scheme.example()))
    }
}
