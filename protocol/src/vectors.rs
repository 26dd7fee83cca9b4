//! Test vectors of docs/PROTOCOL.md, generated deterministically (fixed seeds and
//! times) so the JSON files in `docs/vectors/` can be regenerated and checked.
//!
//! Each vector gives the exact record bytes, what a verifier must conclude, and for
//! failures the stable reason name ([`crate::RecordError::reason`]).

use serde_json::{json, Value};

use crate::body::{self, Kind};
use crate::record::{Keypair, PublicKey, Record, RecordHash, VerifyOptions, SIGNING_PREFIX};
use crate::time::Timestamp;

/// The clock every vector is checked against, and the allowed skew.
pub const VECTOR_NOW: &str = "2026-11-28T12:00:00Z";
pub const VECTOR_SKEW_SECS: u64 = 300;

/// One vector, as written to `docs/vectors/NAME.json`.
pub struct Vector {
    pub name: &'static str,
    pub json: Value,
}

fn seed(n: u8) -> [u8; 32] {
    let mut s = [0u8; 32];
    s.iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b = n.wrapping_mul(31).wrapping_add(i as u8));
    s
}

pub fn sample_entry() -> Value {
    json!({
        "local_id": "hbtx-2026-000123",
        "entry_type": "offer",
        "title": {"zh": "高安全硅碳负极锂离子电池", "en": "High-safety Si/C-anode lithium-ion cell"},
        "summary": {"zh": "硅碳复合负极，循环寿命超过2000次。", "en": "Silicon-carbon composite anode, over 2000 cycles."},
        "keywords": {"zh": ["锂离子电池", "硅碳负极"], "en": ["lithium-ion battery"]},
        "classifications": [
            {"scheme": "ipc", "code": "H01M 10/0525"},
            {"scheme": "gbt4754", "code": "C3841"}
        ],
        "transfer_modes": ["licence", "equity_investment"],
        "trl": {"scheme": "trl-eu", "level": 6},
        "organisation": {"name": {"zh": "武汉某大学"}, "kind": "university", "country": "CN", "region": "CN-HB"},
        "target_countries": ["KE", "EG"],
        "price": {"amount": "1200000", "currency": "CNY", "negotiable": true},
        "valid_from": "2026-03-01",
        "valid_until": "2027-03-01",
        "scope": "international"
    })
}

fn now() -> Timestamp {
    Timestamp::parse(VECTOR_NOW).unwrap_or(Timestamp(0))
}

fn opts() -> VerifyOptions {
    VerifyOptions {
        now: now(),
        max_future_skew_secs: VECTOR_SKEW_SECS,
    }
}

/// Build the unsigned envelope for `body` by hand (so vectors can break rules the
/// signing API refuses to break).
fn envelope(kind: Kind, publisher: &str, seq: &str, issued_at: &str, body: &Value) -> Value {
    json!({"v": 1, "kind": kind.as_str(), "publisher": publisher, "seq": seq, "issued_at": issued_at, "body": body})
}

fn sign_with_prefix(kp: &Keypair, prefix: &[u8], unsigned: &Value) -> String {
    let mut msg = prefix.to_vec();
    msg.extend_from_slice(&crate::canonical::encode(unsigned));
    hex::encode(kp.sign_bytes(&msg))
}

fn with_sig(unsigned: &Value, sig: &str) -> Value {
    let mut v = unsigned.clone();
    v["sig"] = Value::from(sig);
    v
}

fn outcome(bytes: &[u8]) -> (Value, Value) {
    match Record::verify(bytes, &opts()) {
        Ok(_) => (json!("valid"), Value::Null),
        Err(e) => (json!("invalid"), json!(e.reason())),
    }
}

#[allow(clippy::too_many_arguments)]
fn vector(
    name: &'static str,
    description: &str,
    seed: Option<[u8; 32]>,
    public_key: &str,
    body: &Value,
    unsigned: &Value,
    prefix: &[u8],
    bytes: Vec<u8>,
) -> Vector {
    let (expect, reason) = outcome(&bytes);
    let mut signing_input = prefix.to_vec();
    signing_input.extend_from_slice(&crate::canonical::encode(unsigned));
    let json = json!({
        "name": name,
        "description": description,
        "seed": seed.map(hex::encode),
        "public_key": public_key,
        "body": body,
        "signing_input_hex": hex::encode(&signing_input),
        "record": String::from_utf8_lossy(&bytes),
        "record_hex": hex::encode(&bytes),
        "hash": RecordHash::of(&bytes).to_hex(),
        "now": VECTOR_NOW,
        "max_future_skew_secs": VECTOR_SKEW_SECS,
        "expect": expect,
        "reason": reason,
    });
    Vector { name, json }
}

/// Every vector, positive ones first.
pub fn all() -> Vec<Vector> {
    let kp = Keypair::from_seed(&seed(1));
    let pk = kp.public().to_hex();
    let entry = sample_entry();
    let t = "2026-11-28T11:59:00Z";
    let mut out = Vec::new();

    let mut push = |name,
                    desc: &str,
                    key: &str,
                    body: &Value,
                    kind: Kind,
                    prefix: &[u8],
                    edit: &dyn Fn(&Value, String) -> Vec<u8>,
                    seq: &str,
                    at: &str,
                    signer: &Keypair| {
        let unsigned = envelope(kind, key, seq, at, body);
        let sig = sign_with_prefix(signer, prefix, &unsigned);
        let bytes = edit(&unsigned, sig);
        out.push(vector(
            name,
            desc,
            Some(signer.seed()),
            key,
            body,
            &unsigned,
            prefix,
            bytes,
        ));
    };
    let canonical = |u: &Value, sig: String| crate::canonical::encode(&with_sig(u, &sig));

    push(
        "valid-entry",
        "A valid offer entry.",
        &pk,
        &entry,
        Kind::Entry,
        SIGNING_PREFIX,
        &canonical,
        "1",
        t,
        &kp,
    );
    let tomb = json!({"target_kind": "entry", "local_id": "hbtx-2026-000123", "reason": "licensed exclusively"});
    push(
        "valid-tombstone",
        "A valid withdrawal of the entry above (higher seq).",
        &pk,
        &tomb,
        Kind::Tombstone,
        SIGNING_PREFIX,
        &canonical,
        "2",
        t,
        &kp,
    );
    let mapping = json!({
        "local_id": "gbt4754-nace2-2025", "title": {"en": "GB/T 4754-2017 to NACE Rev.2"},
        "subject_scheme": "gbt4754", "object_scheme": "nace2", "license": "CC-BY-4.0",
        "mappings": [{"subject": "C3841", "predicate": "broad", "object": "27.20", "confidence": 0.9, "justification": "manual"}]
    });
    push(
        "valid-mapping-set",
        "A valid mapping set with a fractional confidence.",
        &pk,
        &mapping,
        Kind::MappingSet,
        SIGNING_PREFIX,
        &canonical,
        "3",
        t,
        &kp,
    );

    // A federation anchor's membership list (PROTOCOL.md §6.9); member keys are
    // those of seeds 2 and 3.
    let member_key = |n: u8| Keypair::from_seed(&seed(n)).public().to_hex();
    let membership = json!({
        "local_id": "hubei-federation", "federation": "Hubei Technology Federation",
        "members": [
            {"name": "Wuhan Exchange", "country": "CN", "region": "CN-HB",
             "publisher_keys": [member_key(2)], "roles": ["publish_entries", "publish_events"],
             "receive_scopes": ["federation", "national"]},
            {"name": "Xiangyang Observer", "country": "CN", "publisher_keys": [member_key(3)],
             "roles": ["observer"], "receive_scopes": []}
        ]
    });
    push(
        "valid-membership",
        "A valid membership list of a federation anchor (one publishing member, one observer).",
        &pk,
        &membership,
        Kind::Membership,
        SIGNING_PREFIX,
        &canonical,
        "4",
        t,
        &kp,
    );
    let mut unsorted = membership.clone();
    unsorted["members"][0]["roles"] = json!(["publish_events", "publish_entries"]);
    push(
        "membership-roles-not-normal",
        "A membership list whose roles are not in normal form (sorted): receivers refuse it.",
        &pk,
        &unsorted,
        Kind::Membership,
        SIGNING_PREFIX,
        &canonical,
        "5",
        t,
        &kp,
    );

    push(
        "bad-signature",
        "The last signature byte is flipped.",
        &pk,
        &entry,
        Kind::Entry,
        SIGNING_PREFIX,
        &|u: &Value, sig: String| {
            let mut raw = hex::decode(sig).unwrap_or_default();
            if let Some(b) = raw.last_mut() {
                *b ^= 0x01;
            }
            crate::canonical::encode(&with_sig(u, &hex::encode(raw)))
        },
        "1",
        t,
        &kp,
    );
    push("non-canonical-s", "S + L (the group order) instead of S: same signature mathematically, rejected by strict verification.", &pk, &entry, Kind::Entry, SIGNING_PREFIX,
        &|u: &Value, sig: String| {
            let raw = hex::decode(sig).unwrap_or_default();
            let mut s = [0u8; 32];
            s.copy_from_slice(&raw[32..64]);
            add_group_order(&mut s);
            let mut out = raw[..32].to_vec();
            out.extend_from_slice(&s);
            crate::canonical::encode(&with_sig(u, &hex::encode(out)))
        }, "1", t, &kp);
    push(
        "wrong-prefix",
        "Signed without the domain-separation prefix.",
        &pk,
        &entry,
        Kind::Entry,
        b"",
        &canonical,
        "1",
        t,
        &kp,
    );
    push(
        "wrong-prefix-version",
        "Signed with the prefix of another protocol version.",
        &pk,
        &entry,
        Kind::Entry,
        b"techmesh-record-v0:",
        &canonical,
        "1",
        t,
        &kp,
    );
    push(
        "non-canonical-member-order",
        "Correctly signed, but members are not sorted.",
        &pk,
        &entry,
        Kind::Entry,
        SIGNING_PREFIX,
        &|u: &Value, sig: String| {
            let s =
                String::from_utf8(crate::canonical::encode(&with_sig(u, &sig))).unwrap_or_default();
            // move "v":1 from the end to the front
            let s = s.trim_end_matches(",\"v\":1}").to_string() + "}";
            format!("{{\"v\":1,{}", &s[1..]).into_bytes()
        },
        "1",
        t,
        &kp,
    );
    push(
        "non-canonical-whitespace",
        "Correctly signed, but pretty-printed.",
        &pk,
        &entry,
        Kind::Entry,
        SIGNING_PREFIX,
        &|u: &Value, sig: String| serde_json::to_vec_pretty(&with_sig(u, &sig)).unwrap_or_default(),
        "1",
        t,
        &kp,
    );
    push(
        "non-canonical-escape",
        "Correctly signed, but a character is written as a \\u escape.",
        &pk,
        &entry,
        Kind::Entry,
        SIGNING_PREFIX,
        &|u: &Value, sig: String| {
            let s =
                String::from_utf8(crate::canonical::encode(&with_sig(u, &sig))).unwrap_or_default();
            s.replacen("\"offer\"", "\"\\u006fffer\"", 1).into_bytes()
        },
        "1",
        t,
        &kp,
    );
    push(
        "seq-leading-zero",
        "seq written as \"01\".",
        &pk,
        &entry,
        Kind::Entry,
        SIGNING_PREFIX,
        &canonical,
        "01",
        t,
        &kp,
    );
    push(
        "future-timestamp",
        "issued_at one hour after `now` (skew allowed: 300 s).",
        &pk,
        &entry,
        Kind::Entry,
        SIGNING_PREFIX,
        &canonical,
        "1",
        "2026-11-28T13:00:00Z",
        &kp,
    );
    let mut long = entry.clone();
    long["title"]["en"] = Value::from("x".repeat(257));
    push(
        "oversized-title",
        "title.en has 257 characters (limit 256); correctly signed.",
        &pk,
        &long,
        Kind::Entry,
        SIGNING_PREFIX,
        &canonical,
        "1",
        t,
        &kp,
    );
    let mut bad_code = entry.clone();
    bad_code["classifications"][1] = json!({"scheme": "ipc", "code": "H01M/"});
    push(
        "invalid-ipc-code",
        "classifications[1].code is not an IPC code; correctly signed.",
        &pk,
        &bad_code,
        Kind::Entry,
        SIGNING_PREFIX,
        &canonical,
        "1",
        t,
        &kp,
    );

    let mut arr = entry.clone();
    arr["trl"] = json!(["trl-eu", 6]);
    push(
        "array-for-object",
        "trl written as an array instead of an object; correctly signed.",
        &pk,
        &arr,
        Kind::Entry,
        SIGNING_PREFIX,
        &canonical,
        "1",
        t,
        &kp,
    );
    let mut null_member = entry.clone();
    null_member["ipr"] = Value::Null;
    push(
        "null-member",
        "An optional member written as null instead of left out; correctly signed.",
        &pk,
        &null_member,
        Kind::Entry,
        SIGNING_PREFIX,
        &canonical,
        "1",
        t,
        &kp,
    );
    push(
        "duplicate-member",
        "A member appears twice (the second copy is the signed one).",
        &pk,
        &entry,
        Kind::Entry,
        SIGNING_PREFIX,
        &|u: &Value, sig: String| {
            let s =
                String::from_utf8(crate::canonical::encode(&with_sig(u, &sig))).unwrap_or_default();
            s.replacen("{\"body\":", "{\"body\":{},\"body\":", 1)
                .into_bytes()
        },
        "1",
        t,
        &kp,
    );
    push(
        "unsupported-version",
        "Envelope version 2 (with a member version 1 does not know).",
        &pk,
        &entry,
        Kind::Entry,
        SIGNING_PREFIX,
        &|u: &Value, sig: String| {
            let mut v = with_sig(u, &sig);
            v["v"] = json!(2);
            v["extension"] = json!(true);
            crate::canonical::encode(&v)
        },
        "1",
        t,
        &kp,
    );
    let tomb_bad = json!({"target_kind": "tombstone", "local_id": "x"});
    push(
        "invalid-tombstone",
        "A tombstone that targets a tombstone; correctly signed.",
        &pk,
        &tomb_bad,
        Kind::Tombstone,
        SIGNING_PREFIX,
        &canonical,
        "4",
        t,
        &kp,
    );
    push(
        "not-json",
        "Not JSON at all.",
        &pk,
        &entry,
        Kind::Entry,
        SIGNING_PREFIX,
        &|_: &Value, _sig: String| b"techmesh".to_vec(),
        "1",
        t,
        &kp,
    );

    // Small-order public key: the identity point (y = 1). No secret key exists for it;
    // the signature is arbitrary. Verifiers must refuse the key itself.
    let small = format!("01{}", "00".repeat(31));
    let unsigned = envelope(Kind::Entry, &small, "1", t, &entry);
    let bytes = crate::canonical::encode(&with_sig(&unsigned, &format!("01{}", "00".repeat(63))));
    out.push(vector(
        "small-order-key",
        "The publisher key is the identity point (small order).",
        None,
        &small,
        &entry,
        &unsigned,
        SIGNING_PREFIX,
        bytes,
    ));
    // Non-canonical encoding: the smallest y < 19 that is a valid, non-weak point,
    // written as y + p (p = 2^255 - 19), which decoders reduce to the same point.
    let y = (2u8..19)
        .find(|&y| {
            let mut b = [0u8; 32];
            b[0] = y;
            PublicKey(b).check_point().is_ok()
        })
        .unwrap_or(2);
    let mut nc = [0xffu8; 32];
    nc[0] = 0xed + y;
    nc[31] = 0x7f;
    let nc_hex = PublicKey(nc).to_hex();
    let unsigned = envelope(Kind::Entry, &nc_hex, "1", t, &entry);
    let bytes = crate::canonical::encode(&with_sig(&unsigned, &format!("01{}", "00".repeat(63))));
    out.push(vector(
        "non-canonical-key",
        "The publisher key encodes a valid point's y as y + p (y ≥ p is not canonical).",
        None,
        &nc_hex,
        &entry,
        &unsigned,
        SIGNING_PREFIX,
        bytes,
    ));
    out
}

/// s += L, little-endian, where L = 2^252 + 27742317777372353535851937790883648493.
fn add_group_order(s: &mut [u8; 32]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(s[i]) + u16::from(L[i]) + carry;
        s[i] = v as u8;
        carry = v >> 8;
    }
}

/// The sample entry as a publisher prepares it (used by other crates' tests).
pub fn sample_entry_body() -> body::Body {
    body::prepare(Kind::Entry, &sample_entry()).unwrap_or_else(|e| panic!("sample entry: {e}"))
}
