//! The fast decoder (`Record::decode_fast`: canonical scan + typed body straight
//! from the bytes) against the exact one (`Record::decode_exact`: JSON tree,
//! canonical comparison, `Body::from_json`): on every vector and on many broken
//! variants of valid records, `Record::decode_trusted` (fast, falling back to
//! exact) must give exactly what the exact decoder gives, and the fast decoder must
//! never accept what the exact one refuses.

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::canonical;
use crate::record::Record;
use crate::vectors;
use crate::RecordError;

type Fields = (Vec<u8>, crate::PublicKey, u64, i64, crate::Body, [u8; 64]);

fn fields(r: Result<(Record, [u8; 64]), RecordError>) -> Result<Fields, RecordError> {
    r.map(|(r, sig)| {
        (
            r.bytes().to_vec(),
            r.publisher,
            r.seq,
            r.issued_at.0,
            r.body,
            sig,
        )
    })
}

/// Both decoders agree on `bytes`; returns whether the fast one accepted them.
fn agree(bytes: &[u8]) -> Result<bool, TestCaseError> {
    let exact = fields(Record::decode_exact(bytes));
    let fast = Record::decode_fast(bytes);
    let took_fast = fast.is_some();
    if let Some(parts) = fast {
        prop_assert!(
            exact.is_ok(),
            "fast decoder accepted what the exact one refuses ({:?}): {}",
            exact,
            String::from_utf8_lossy(bytes)
        );
        prop_assert_eq!(fields(Ok(parts)), exact.clone());
    }
    let trusted = Record::decode_trusted(bytes).map(|r| {
        (
            r.bytes().to_vec(),
            r.publisher,
            r.seq,
            r.issued_at.0,
            r.body,
        )
    });
    prop_assert_eq!(
        trusted,
        exact.map(|(b, p, s, t, body, _)| (b, p, s, t, body))
    );
    Ok(took_fast)
}

/// The record bytes of every vector (generated once: signing them is slow).
fn vector_records() -> &'static [Vec<u8>] {
    static RECORDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    RECORDS.get_or_init(|| {
        vectors::all()
            .iter()
            .filter_map(|v| hex::decode(v.json["record_hex"].as_str()?).ok())
            .collect()
    })
}

#[test]
fn every_vector_decodes_the_same_and_valid_ones_take_the_fast_path() {
    let mut fast = 0;
    for bytes in vector_records() {
        if agree(bytes).expect("decoders agree") {
            fast += 1;
        }
    }
    // valid-entry, valid-tombstone and the records whose only fault is outside the
    // decoder (signature, clock, key point) have no null/false/[]/{} and no floats.
    assert!(fast >= 4, "only {fast} vectors took the fast path");
}

#[test]
fn a_signed_entry_takes_the_fast_path() {
    let kp = crate::Keypair::from_seed(&[5; 32]);
    let r = kp
        .sign(1, crate::time::Timestamp(0), vectors::sample_entry_body())
        .expect("sign");
    assert!(Record::decode_fast(r.bytes()).is_some());
}

/// Every JSON pointer into `v` (objects and arrays), `v` itself first.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, c)| pointers(c, format!("{at}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, c)| pointers(c, format!("{at}/{i}"), out)),
        _ => {}
    }
}

fn replacement() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        Just(Some(json!(false))),
        Just(Some(json!(true))),
        Just(Some(json!([]))),
        Just(Some(json!({}))),
        Just(Some(json!(0))),
        Just(Some(json!(1))),
        Just(Some(json!(-1))),
        Just(Some(json!(300))),
        Just(Some(json!(0.5))),
        Just(Some(json!(""))),
        Just(Some(json!("x"))),
        Just(Some(json!("CN"))),
        Just(Some(json!(["x"]))),
        Just(Some(json!({"x": "y"}))),
        Just(Some(json!({"en": "text"}))),
    ]
}

/// Replace (or, for `None`, remove) the member or item at `pointer`.
fn mutate(root: &mut Value, pointer: &str, with: Option<Value>) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let Some(p) = root.pointer_mut(parent) else {
        return;
    };
    match (p, with) {
        (Value::Object(m), Some(v)) => {
            m.insert(last.to_string(), v);
        }
        (Value::Object(m), None) => {
            m.remove(last);
        }
        (Value::Array(a), w) => {
            if let Ok(i) = last.parse::<usize>() {
                match w {
                    Some(v) if i < a.len() => a[i] = v,
                    None if i < a.len() => {
                        a.remove(i);
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// One member or item of a valid record replaced, removed or added (at the
    /// envelope or anywhere in the body), then written canonically.
    #[test]
    fn decoders_agree_on_changed_members(which in any::<prop::sample::Index>(),
                                         at in any::<prop::sample::Index>(),
                                         with in replacement(),
                                         add in any::<bool>()) {
        let records = vector_records();
        let bytes = &records[which.index(records.len())];
        let Ok(mut v) = serde_json::from_slice::<Value>(bytes) else {
            return Ok(());
        };
        let mut ptrs = Vec::new();
        pointers(&v, String::new(), &mut ptrs);
        let p = ptrs[at.index(ptrs.len())].clone();
        if add {
            if let (Some(Value::Object(m)), Some(w)) = (v.pointer_mut(&p), with) {
                m.insert("zz_extra".into(), w);
            }
        } else {
            mutate(&mut v, &p, with);
        }
        agree(&canonical::encode(&v))?;
    }

    /// Raw byte changes of valid records (most break the JSON or its canonical form).
    #[test]
    fn decoders_agree_on_changed_bytes(which in any::<prop::sample::Index>(),
                                       at in any::<prop::sample::Index>(),
                                       byte in any::<u8>(),
                                       insert in any::<bool>()) {
        let records = vector_records();
        let mut bytes = records[which.index(records.len())].clone();
        let i = at.index(bytes.len());
        if insert {
            bytes.insert(i, byte);
        } else {
            bytes[i] = byte;
        }
        agree(&bytes)?;
    }
}

#[test]
fn a_struct_written_as_an_array_is_left_to_the_exact_decoder() {
    // serde accepts `["trl-eu",6]` for the struct `trl`; written back it is an
    // object, so the body is not in normal form and only the exact decoder says so.
    let mut v: Value = serde_json::from_slice(&vector_records()[0]).expect("json");
    v["body"]["trl"] = json!(["trl-eu", 6]);
    let bytes = canonical::encode(&v);
    assert!(Record::decode_fast(&bytes).is_none());
    let err = Record::decode_trusted(&bytes).unwrap_err();
    assert!(
        err.to_string().contains("trl: is not in normal form"),
        "{err}"
    );
    agree(&bytes).expect("decoders agree");
}
