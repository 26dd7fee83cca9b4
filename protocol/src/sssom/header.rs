//! The YAML subset of SSSOM headers (see the module docs of [`crate::sssom`]).

use std::collections::{BTreeMap, HashMap};

use super::Errors;

#[derive(Default)]
pub(super) struct Header {
    /// Top-level scalars: key → (value, line).
    pub scalars: HashMap<String, (String, usize)>,
    /// `curie_map` entries: prefix → (uri, line), and the line of `curie_map:`.
    pub curie_map: BTreeMap<String, (String, usize)>,
    pub curie_map_line: Option<usize>,
}

/// Split `key: value` (value may be empty).
fn key_value(s: &str) -> Option<(&str, &str)> {
    if let Some(k) = s.strip_suffix(':') {
        return Some((k.trim(), ""));
    }
    let (k, v) = s.split_once(": ")?;
    Some((k.trim(), v.trim()))
}

/// A YAML scalar: plain (a ` #` starts a comment), double- or single-quoted.
fn scalar(v: &str) -> Result<String, String> {
    let v = v.trim();
    if let Some(rest) = v.strip_prefix('"') {
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    let tail = rest[i + 1..].trim_start();
                    if !(tail.is_empty() || tail.starts_with('#')) {
                        return Err("text after a closing quote".into());
                    }
                    return serde_json::from_str(&v[..i + 2])
                        .map_err(|e| format!("bad double-quoted string ({e})"));
                }
                _ => {}
            }
        }
        return Err("unterminated double-quoted string".into());
    }
    if let Some(rest) = v.strip_prefix('\'') {
        let mut out = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    out.push('\'');
                    continue;
                }
                let tail: String = chars.collect();
                let tail = tail.trim_start();
                if !(tail.is_empty() || tail.starts_with('#')) {
                    return Err("text after a closing quote".into());
                }
                return Ok(out);
            }
            out.push(c);
        }
        return Err("unterminated single-quoted string".into());
    }
    if v.starts_with('{') || v.starts_with('[') {
        return Err("YAML flow collections are not supported; use one `key: value` a line".into());
    }
    let v = match v.find(" #") {
        Some(i) => &v[..i],
        None => v,
    };
    Ok(v.trim_end().to_owned())
}

pub(super) fn parse_header(lines: &[(usize, &str)], e: &mut Errors) -> Header {
    let mut h = Header::default();
    let mut base: Option<usize> = None;
    // The top-level key whose nested block we are in.
    let mut block: Option<String> = None;
    // Top-level scalars as written (continuation lines joined): key, text, line.
    let mut scalars: Vec<(String, String, usize)> = Vec::new();
    let mut continuing = false;
    for &(n, line) in lines {
        // As the reference tool does: every leading `#` goes, the rest is YAML.
        let content = line.trim_start_matches('#');
        let body = content.trim_start_matches(' ');
        if body.trim().is_empty() || body.starts_with('#') {
            continue;
        }
        if body.starts_with('\t') {
            e.add(n, None, "tabs are not allowed in YAML indentation");
            continue;
        }
        let indent = content.len() - body.len();
        let base = *base.get_or_insert(indent);
        let body = body.trim_end();
        if indent < base {
            e.add(n, None, "indented less than the first header key");
            continue;
        }
        if indent == base {
            continuing = false;
            let Some((key, value)) = key_value(body) else {
                e.add(n, None, format!("expected `key: value`, found {body:?}"));
                block = None;
                continue;
            };
            if value.is_empty() {
                block = Some(key.to_owned());
                if key == "curie_map" {
                    h.curie_map_line = Some(n);
                }
                continue;
            }
            block = None;
            scalars.push((key.to_owned(), value.to_owned(), n));
            continuing = true;
            continue;
        }
        if continuing {
            // A scalar folded over several lines: the break is a space, or nothing
            // after an escaping `\` inside double quotes.
            if let Some((_, text, _)) = scalars.last_mut() {
                match text.strip_suffix('\\') {
                    Some(t) if text.starts_with('"') => *text = t.to_owned(),
                    _ => text.push(' '),
                }
                text.push_str(body);
            }
            continue;
        }
        match block.as_deref() {
            None => e.add(n, None, "indented line outside of a block"),
            Some("curie_map") => match key_value(body) {
                Some((prefix, uri)) if !uri.is_empty() => match scalar(uri) {
                    Ok(uri) => {
                        let prefix = prefix.trim_matches(|c| c == '"' || c == '\'');
                        if h.curie_map.insert(prefix.to_owned(), (uri, n)).is_some() {
                            e.add(n, Some("curie_map"), format!("prefix {prefix:?} repeated"));
                        }
                    }
                    Err(m) => e.add(n, Some("curie_map"), m),
                },
                _ => e.add(
                    n,
                    Some("curie_map"),
                    format!("expected `prefix: uri`, found {body:?}"),
                ),
            },
            // Other nested metadata (lists of creators, extension definitions, ...).
            Some(_) => {}
        }
    }
    for (key, text, n) in scalars {
        match scalar(&text) {
            Ok(v) => {
                if h.scalars.insert(key.clone(), (v, n)).is_some() {
                    e.add(n, Some(&key), "repeated header key");
                }
            }
            Err(m) => e.add(n, Some(&key), m),
        }
    }
    h
}
