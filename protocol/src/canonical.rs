//! The canonical byte encoding of records: RFC 8785 (JSON Canonicalization Scheme).
//!
//! Encoding sorts object members by UTF-16 code units, writes no insignificant
//! whitespace, escapes strings minimally and writes numbers the ECMAScript way.
//! Decoding is strict: the input is parsed and re-encoded, and anything that does not
//! come back byte-for-byte identical (whitespace, member order, escapes, duplicate
//! members, `1.0` for `1`, a BOM, ...) is refused. So every record has exactly one
//! byte string, and the record hash names the record.

use serde_json::Value;

use crate::error::RecordError;

/// Canonical bytes of a JSON value.
pub fn encode(value: &Value) -> Vec<u8> {
    // Canonicalising an in-memory `Value` cannot fail: its numbers are finite and its
    // strings valid UTF-8. Fall back to a visible marker rather than panicking.
    serde_json_canonicalizer::to_vec(value).unwrap_or_else(|_| b"null".to_vec())
}

/// Parse `bytes` as JSON and accept it only if it is already in canonical form.
pub fn decode_strict(bytes: &[u8]) -> Result<Value, RecordError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| RecordError::NotJson(e.to_string()))?;
    let again = encode(&value);
    if again != bytes {
        let at = again
            .iter()
            .zip(bytes.iter())
            .position(|(a, b)| a != b)
            .unwrap_or(again.len().min(bytes.len()));
        return Err(RecordError::NotCanonical(format!(
            "first difference from the canonical encoding at byte {at}"
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn rejects_invalid_utf8_and_lone_surrogates() {
        assert!(decode_strict(b"{\"a\":\"\xff\"}").is_err());
        assert!(decode_strict(br#"{"a":"\ud800"}"#).is_err());
    }
}
