//! Property tests of the canonical encoding (issue 8, item 5): every JSON value has
//! one canonical byte string, `decode_strict` accepts exactly it, and signed records
//! decode back to the bytes, hash and fields they were signed with.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::body::{self, Kind};
use crate::canonical::{decode_strict, encode};
use crate::record::{Keypair, Record, VerifyOptions};
use crate::time::Timestamp;
use crate::vectors::sample_entry;

/// Arbitrary JSON: nulls, booleans, integers, finite floats, any Unicode strings
/// (controls, quotes, non-BMP), nested arrays and objects.
pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".*".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((".*", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

fn opts() -> VerifyOptions {
    VerifyOptions {
        now: Timestamp(1_900_000_000),
        max_future_skew_secs: 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// encode → decode_strict → encode is the identity on bytes.
    #[test]
    fn canonical_bytes_decode_and_encode_to_themselves(v in json_value()) {
        let bytes = encode(&v);
        let back = decode_strict(&bytes).map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&bytes))))?;
        prop_assert_eq!(encode(&back), bytes);
    }

    /// Any other spelling of the same value (pretty-printed, escaped) is refused.
    #[test]
    fn other_spellings_are_refused(v in json_value()) {
        let canonical = encode(&v);
        for other in [serde_json::to_vec_pretty(&v).unwrap(), serde_json::to_vec(&v).unwrap()] {
            if other != canonical {
                prop_assert!(decode_strict(&other).is_err(), "accepted {}", String::from_utf8_lossy(&other));
            }
        }
    }

    /// A signed record verifies back to its bytes, hash, seq, time and body.
    #[test]
    fn signed_records_round_trip(
        seed in any::<[u8; 32]>(),
        seq in 1u64..=u64::MAX,
        at in 0i64..1_900_000_000,
        title in "\\PC{1,80}",
        local in "[a-z0-9][a-z0-9-]{0,30}",
    ) {
        let mut v = sample_entry();
        v["local_id"] = json!(local);
        v["title"]["en"] = json!(title);
        let Ok(body) = body::prepare(Kind::Entry, &v) else {
            // Titles the body rules refuse (e.g. only blanks) are not records.
            return Ok(());
        };
        let r = Keypair::from_seed(&seed).sign(seq, Timestamp(at), body).unwrap();
        let back = Record::verify(r.bytes(), &opts()).unwrap();
        prop_assert_eq!(back.bytes(), r.bytes());
        prop_assert_eq!(back.hash(), r.hash());
        prop_assert_eq!(back.seq, seq);
        prop_assert_eq!(back.issued_at, Timestamp(at));
        prop_assert_eq!(&back.body, &r.body);
        prop_assert_eq!(back.identity(), r.identity());
        prop_assert_eq!(encode(&decode_strict(r.bytes()).unwrap()), r.bytes().to_vec());
    }
}
