//! Envelope, signature, hash, identity, versions and equivocation.

use serde_json::json;

use crate::body::{self, Kind};
use crate::record::{Identity, Keypair, Record, VerifyOptions, MAX_RECORD_BYTES};
use crate::time::Timestamp;
use crate::vectors::{self, sample_entry, sample_entry_body};
use crate::version::{is_equivocation, Version};
use crate::RecordError;

fn now() -> Timestamp {
    Timestamp::parse("2026-11-28T12:00:00Z").unwrap()
}

fn opts() -> VerifyOptions {
    VerifyOptions {
        now: now(),
        max_future_skew_secs: 300,
    }
}

fn kp(n: u8) -> Keypair {
    Keypair::from_seed(&[n; 32])
}

#[test]
fn sign_then_verify_round_trips_bytes_hash_and_fields() {
    let k = kp(7);
    let r = k.sign(42, now(), sample_entry_body()).unwrap();
    let back = Record::verify(r.bytes(), &opts()).unwrap();
    assert_eq!(back.hash(), r.hash());
    assert_eq!(back.bytes(), r.bytes());
    assert_eq!(back.seq, 42);
    assert_eq!(back.publisher, k.public());
    assert_eq!(back.body, r.body);
    let id = back.identity();
    assert_eq!(
        id.to_string(),
        format!("{}/entry/hbtx-2026-000123", k.public())
    );
    assert_eq!(Identity::parse(&id.to_string()), Some(id.clone()));
    assert_eq!(Identity::from_key(&id.key()), Some(id));
}

#[test]
fn signature_is_bound_to_publisher_and_content() {
    let r = kp(1).sign(1, now(), sample_entry_body()).unwrap();
    let s = String::from_utf8(r.bytes().to_vec()).unwrap();
    // Same bytes but claiming another publisher: the signature no longer verifies.
    let other = kp(2).public().to_hex();
    let forged = s.replace(&kp(1).public().to_hex(), &other);
    assert_eq!(
        Record::verify(forged.as_bytes(), &opts()).unwrap_err(),
        RecordError::BadSignature
    );
    // A changed seq (still canonical) also breaks it.
    let forged = s.replace("\"seq\":\"1\"", "\"seq\":\"9\"");
    assert_eq!(
        Record::verify(forged.as_bytes(), &opts()).unwrap_err(),
        RecordError::BadSignature
    );
}

#[test]
fn future_skew_is_bounded_but_past_is_fine() {
    let k = kp(3);
    let just_ok = k
        .sign(1, Timestamp(now().0 + 300), sample_entry_body())
        .unwrap();
    assert!(Record::verify(just_ok.bytes(), &opts()).is_ok());
    let too_far = k
        .sign(1, Timestamp(now().0 + 301), sample_entry_body())
        .unwrap();
    assert_eq!(
        Record::verify(too_far.bytes(), &opts())
            .unwrap_err()
            .reason(),
        "future_timestamp"
    );
    let old = k.sign(1, Timestamp(0), sample_entry_body()).unwrap();
    assert!(Record::verify(old.bytes(), &opts()).is_ok());
}

#[test]
fn oversized_records_are_refused_before_parsing() {
    let big = vec![b' '; MAX_RECORD_BYTES + 1];
    assert!(matches!(
        Record::verify(&big, &opts()),
        Err(RecordError::TooLarge { .. })
    ));
}

#[test]
fn unknown_envelope_fields_and_versions_are_refused() {
    let r = kp(1).sign(1, now(), sample_entry_body()).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(r.bytes()).unwrap();
    v["v"] = json!(2);
    let b = crate::canonical::encode(&v);
    assert_eq!(
        Record::verify(&b, &opts()).unwrap_err(),
        RecordError::UnsupportedVersion(2)
    );
    v["v"] = json!(1);
    v["extra"] = json!(true);
    let b = crate::canonical::encode(&v);
    assert_eq!(
        Record::verify(&b, &opts()).unwrap_err().reason(),
        "bad_envelope"
    );
}

#[test]
fn every_vector_concludes_as_documented() {
    let all = vectors::all();
    let names: Vec<_> = all.iter().map(|v| v.name).collect();
    for want in [
        "valid-entry",
        "bad-signature",
        "non-canonical-s",
        "wrong-prefix",
        "non-canonical-member-order",
        "non-canonical-whitespace",
        "small-order-key",
        "non-canonical-key",
        "future-timestamp",
        "oversized-title",
    ] {
        assert!(names.contains(&want), "missing vector {want}");
    }
    let expected = [
        ("valid-entry", None),
        ("valid-tombstone", None),
        ("valid-mapping-set", None),
        ("valid-membership", None),
        ("membership-roles-not-normal", Some("invalid_body")),
        ("bad-signature", Some("bad_signature")),
        ("non-canonical-s", Some("bad_signature")),
        ("wrong-prefix", Some("bad_signature")),
        ("wrong-prefix-version", Some("bad_signature")),
        ("non-canonical-member-order", Some("not_canonical")),
        ("non-canonical-whitespace", Some("not_canonical")),
        ("non-canonical-escape", Some("not_canonical")),
        ("seq-leading-zero", Some("bad_envelope")),
        ("future-timestamp", Some("future_timestamp")),
        ("oversized-title", Some("invalid_body")),
        ("invalid-ipc-code", Some("invalid_body")),
        ("array-for-object", Some("invalid_body")),
        ("null-member", Some("invalid_body")),
        ("duplicate-member", Some("not_canonical")),
        ("unsupported-version", Some("unsupported_version")),
        ("invalid-tombstone", Some("invalid_body")),
        ("not-json", Some("not_json")),
        ("small-order-key", Some("weak_key")),
        ("non-canonical-key", Some("non_canonical_key")),
    ];
    assert_eq!(all.len(), expected.len());
    for (v, (name, reason)) in all.iter().zip(expected) {
        assert_eq!(v.name, name);
        let bytes = hex::decode(v.json["record_hex"].as_str().unwrap()).unwrap();
        let got = Record::verify(&bytes, &opts()).err().map(|e| e.reason());
        assert_eq!(got, reason, "vector {name}");
        assert_eq!(v.json["reason"].as_str(), reason, "vector {name} json");
    }
}

#[test]
fn newer_seq_supersedes_and_equal_seq_is_ordered_by_hash() {
    let k = kp(4);
    let v1 = k.sign(1, now(), sample_entry_body()).unwrap();
    let v2 = k.sign(2, now(), sample_entry_body()).unwrap();
    assert!(Version::of(&v2).supersedes(&Version::of(&v1)));
    assert!(!Version::of(&v1).supersedes(&Version::of(&v2)));
    assert!(!Version::of(&v1).supersedes(&Version::of(&v1)));
    // Equivocation: same seq, different content.
    let mut other = sample_entry();
    other["title"]["en"] = json!("Another title");
    let b = body::prepare(Kind::Entry, &other).unwrap();
    let v1b = k.sign(1, now(), b).unwrap();
    assert!(is_equivocation(&v1, &v1b));
    assert!(!is_equivocation(&v1, &v1));
    let (a, b) = (Version::of(&v1), Version::of(&v1b));
    assert_ne!(
        a.supersedes(&b),
        b.supersedes(&a),
        "exactly one of two equivocating versions wins"
    );
}

#[test]
fn tombstone_occupies_the_identity_it_withdraws() {
    let k = kp(5);
    let entry = k.sign(1, now(), sample_entry_body()).unwrap();
    let t = body::prepare(
        Kind::Tombstone,
        &json!({"target_kind": "entry", "local_id": "hbtx-2026-000123"}),
    )
    .unwrap();
    let tomb = k.sign(2, now(), t).unwrap();
    assert_eq!(tomb.identity(), entry.identity());
    assert!(tomb.is_tombstone());
    let t = body::prepare(
        Kind::Tombstone,
        &json!({"target_kind": "tombstone", "local_id": "x"}),
    );
    assert_eq!(
        t.unwrap_err().to_string(),
        "target_kind: a tombstone cannot withdraw a tombstone"
    );
}

#[test]
fn signing_refuses_invalid_bodies() {
    let mut bad = sample_entry();
    bad["title"] = json!({});
    let body = body::Body::parse_unchecked(Kind::Entry, &bad).unwrap();
    let err = kp(1).sign(1, now(), body).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid body: title: needs at least one language"
    );
}

/// docs/vectors/*.json are exactly what `vectors::all()` generates. Regenerate with
/// `TECHMESH_REGEN_VECTORS=1 cargo test -p techmesh-protocol vector_files`.
#[test]
fn vector_files_match_the_generator() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/vectors");
    let regen = std::env::var("TECHMESH_REGEN_VECTORS").is_ok();
    if regen {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut names = Vec::new();
    for v in vectors::all() {
        let path = dir.join(format!("{}.json", v.name));
        let text = serde_json::to_string_pretty(&v.json).unwrap() + "\n";
        if regen {
            std::fs::write(&path, &text).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (regenerate the vectors)", path.display()));
        assert_eq!(
            on_disk,
            text,
            "{} is stale: regenerate the vectors",
            path.display()
        );
        names.push(format!("{}.json", v.name));
    }
    let index = serde_json::to_string_pretty(&names).unwrap() + "\n";
    if regen {
        std::fs::write(dir.join("index.json"), &index).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("index.json")).unwrap(),
        index
    );
}
