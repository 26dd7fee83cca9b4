//! The canonical byte encoding of records: RFC 8785 (JSON Canonicalization Scheme).
//!
//! Encoding sorts object members by UTF-16 code units, writes no insignificant
//! whitespace, escapes strings minimally and writes numbers the ECMAScript way.
//! Decoding is strict: the input is parsed and its canonical encoding is compared
//! with the input as it is produced (no second copy is built), and anything that
//! does not come back byte-for-byte identical (whitespace, member order, escapes,
//! duplicate members, `1.0` for `1`, a BOM, ...) is refused. So every record has
//! exactly one byte string, and the record hash names the record.
//!
//! [`scan`] is the fast path for records: one pass over the bytes, no JSON tree,
//! that accepts the common canonical records and gives up on anything else, which
//! then goes through [`decode_strict`].

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use crate::error::RecordError;

pub mod scan;
mod shape;

/// Canonical bytes of a JSON value.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    write_value(value, &mut out);
    out
}

/// Parse `bytes` as JSON and accept it only if it is already in canonical form.
pub fn decode_strict(bytes: &[u8]) -> Result<Value, RecordError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| RecordError::NotJson(e.to_string()))?;
    let mut cmp = Compare {
        input: bytes,
        at: 0,
        differs: false,
    };
    write_value(&value, &mut cmp);
    if cmp.differs || cmp.at != bytes.len() {
        return Err(RecordError::NotCanonical(format!(
            "first difference from the canonical encoding at byte {}",
            cmp.at
        )));
    }
    Ok(value)
}

/// Where canonical bytes go: a buffer, or a comparison against expected bytes.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
    /// False once the output can no longer matter (a comparison already failed).
    fn live(&self) -> bool {
        true
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Compares the canonical encoding with `input` as it is produced; `at` ends at the
/// first differing byte.
struct Compare<'a> {
    input: &'a [u8],
    at: usize,
    differs: bool,
}

impl Sink for Compare<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if self.differs {
            return;
        }
        let rest = &self.input[self.at..];
        if rest.starts_with(bytes) {
            self.at += bytes.len();
        } else {
            self.at += rest.iter().zip(bytes).take_while(|(a, b)| a == b).count();
            self.differs = true;
        }
    }

    fn live(&self) -> bool {
        !self.differs
    }
}

fn write_value(value: &Value, out: &mut impl Sink) {
    if !out.live() {
        return;
    }
    match value {
        Value::Null => out.put(b"null"),
        Value::Bool(true) => out.put(b"true"),
        Value::Bool(false) => out.put(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.put(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.put(b",");
                }
                write_value(item, out);
            }
            out.put(b"]");
        }
        Value::Object(members) => write_object(members, out),
    }
}

/// RFC 8785 §3.2.3: members sorted by the UTF-16 code units of their names.
fn utf16_order(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn write_object(members: &Map<String, Value>, out: &mut impl Sink) {
    out.put(b"{");
    // The map iterates in byte order, which is UTF-16 order unless names mix
    // characters above U+FFFF with U+E000..U+FFFF; only then sort a list of refs.
    let mut prev: Option<&String> = None;
    let in_order = members.keys().all(|k| {
        let ok = prev.is_none_or(|p| utf16_order(p, k) == Ordering::Less);
        prev = Some(k);
        ok
    });
    if in_order {
        write_members(members.iter(), out);
    } else {
        let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
        sorted.sort_by(|a, b| utf16_order(a.0, b.0));
        write_members(sorted.into_iter(), out);
    }
    out.put(b"}");
}

fn write_members<'v>(members: impl Iterator<Item = (&'v String, &'v Value)>, out: &mut impl Sink) {
    for (i, (name, value)) in members.enumerate() {
        if i > 0 {
            out.put(b",");
        }
        write_string(name, out);
        out.put(b":");
        write_value(value, out);
        if !out.live() {
            return;
        }
    }
}

/// Strings: `"` and `\` escaped, control characters as `\b \t \n \f \r` or
/// `\u00xx` (lowercase hex), everything else as is (RFC 8785 §3.2.2.2).
fn write_string(s: &str, out: &mut impl Sink) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.put(b"\"");
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ],
            _ => continue,
        };
        if start < i {
            out.put(&bytes[start..i]);
        }
        out.put(escape);
        start = i + 1;
    }
    if start < bytes.len() {
        out.put(&bytes[start..]);
    }
    out.put(b"\"");
}

/// Numbers the ECMAScript way (RFC 8785 §3.2.2.3). Integers below 2^53 print as
/// themselves; everything else goes through the reference formatter.
fn write_number(n: &Number, out: &mut impl Sink) {
    const EXACT: u64 = 1 << 53;
    if let Some(u) = n.as_u64().filter(|u| *u < EXACT) {
        out.put(u.to_string().as_bytes());
    } else if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() < EXACT && *i != 0) {
        out.put(i.to_string().as_bytes());
    } else {
        // Canonicalising a finite number cannot fail; fall back to a visible marker.
        let s = serde_json_canonicalizer::to_vec(&Value::Number(n.clone()))
            .unwrap_or_else(|_| b"null".to_vec());
        out.put(&s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn sorts_members_and_strips_whitespace() {
        let v = json!({"b": 1, "a": [true, null, "x"], "é": 0.5});
        assert_eq!(
            String::from_utf8(encode(&v)).unwrap(),
            "{\"a\":[true,null,\"x\"],\"b\":1,\"é\":0.5}"
        );
    }

    #[test]
    fn accepts_canonical_and_rejects_every_other_spelling() {
        let good = br#"{"a":1,"b":"x"}"#;
        assert!(decode_strict(good).is_ok());
        for bad in [
            &br#"{"b":"x","a":1}"#[..],
            br#"{"a": 1,"b":"x"}"#,
            br#"{"a":1.0,"b":"x"}"#,
            br#"{"a":1e0,"b":"x"}"#,
            br#"{"a":1,"b":"\u0078"}"#,
            br#"{"a":1,"a":1,"b":"x"}"#,
            b"\xef\xbb\xbf{\"a\":1,\"b\":\"x\"}",
            b"{\"a\":1,\"b\":\"x\"}\n",
            br#"{"a":1,"b":"x"#,
            br#"{"a":1}"#.as_slice().get(..6).unwrap_or(b""),
        ] {
            let err = decode_strict(bad).unwrap_err();
            assert!(
                matches!(err, RecordError::NotCanonical(_) | RecordError::NotJson(_)),
                "{:?} accepted as {err:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn reports_the_first_differing_byte() {
        let err = decode_strict(br#"{"a":1, "b":2}"#).unwrap_err();
        assert!(err.to_string().contains("at byte 7"), "{err}");
    }

    #[test]
    fn rejects_invalid_utf8_and_lone_surrogates() {
        assert!(decode_strict(b"{\"a\":\"\xff\"}").is_err());
        assert!(decode_strict(br#"{"a":"\ud800"}"#).is_err());
    }

    #[test]
    fn names_sort_by_utf16_not_utf8() {
        // U+1F600 (surrogates D83D DE00) sorts before U+FF01 in UTF-16, after in UTF-8.
        let v = json!({"\u{ff01}": 1, "\u{1f600}": 2});
        assert_eq!(
            String::from_utf8(encode(&v)).unwrap(),
            "{\"\u{1f600}\":2,\"\u{ff01}\":1}"
        );
        assert!(decode_strict(&encode(&v)).is_ok());
    }

    #[test]
    fn escapes_and_numbers_match_the_reference_encoder() {
        let v = json!({
            "s": "q\"b\\s/\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}\u{2028}é漢",
            "n": [0, -0.0, 1, -1, 9007199254740991u64, 9007199254740992u64,
                  18446744073709551615u64, -9007199254740993i64, 0.5, 1e21, 1e-7, 123.456]
        });
        assert_eq!(encode(&v), serde_json_canonicalizer::to_vec(&v).unwrap());
    }

    proptest! {
        #[test]
        fn encoding_matches_the_reference_and_round_trips(v in crate::tests::prop_canonical::json_value()) {
            let ours = encode(&v);
            prop_assert_eq!(&ours, &serde_json_canonicalizer::to_vec(&v).unwrap());
            let back = decode_strict(&ours);
            prop_assert!(back.is_ok(), "{:?}", back);
        }
    }
}
