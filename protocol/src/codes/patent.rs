//! IPC and CPC symbols: spellings, normal form and the section → subgroup hierarchy.

use super::*;

pub(super) fn patent(s: &str, cpc: bool) -> Parsed {
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
pub(super) fn strip_version(s: &str) -> Result<&str, String> {
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

pub(super) fn patent_ancestors(code: String) -> Vec<String> {
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
