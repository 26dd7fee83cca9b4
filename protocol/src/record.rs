//! The signed envelope (docs/PROTOCOL.md §1–4).
//!
//! On the wire a record is the canonical JSON (RFC 8785) of
//! `{"body":…,"issued_at":"…","kind":"…","publisher":"<hex>","seq":"<decimal>","sig":"<hex>","v":1}`.
//! The signature is ed25519 over [`SIGNING_PREFIX`] followed by the canonical JSON of
//! the same object without `sig`; it is checked with strict verification. The record
//! hash is SHA-256 of the complete wire bytes.

use std::fmt;
use std::sync::Arc;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::body::{Body, Kind};
use crate::canonical;
use crate::error::RecordError;
use crate::time::Timestamp;

/// Domain separation: no signature made for another purpose can pass as a record's.
pub const SIGNING_PREFIX: &[u8] = b"techmesh-record-v1:";
/// The one record format version this crate speaks.
pub const FORMAT_VERSION: u64 = 1;
/// No record on the wire, in a store or in an export is larger than this.
pub const MAX_RECORD_BYTES: usize = 128 * 1024;
/// Default bound on how far in the future `issued_at` may be.
pub const DEFAULT_MAX_FUTURE_SKEW_SECS: u64 = 300;

/// An ed25519 public key (publisher identity), shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parse 64 lowercase hex digits (no point checks; see [`PublicKey::check_point`]).
    pub fn from_hex(s: &str) -> Option<PublicKey> {
        if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(PublicKey(out))
    }

    /// The encoding must be canonical (y < 2^255 − 19) and the point must not have
    /// small order.
    pub fn check_point(&self) -> Result<VerifyingKey, RecordError> {
        let b = &self.0;
        // y ≥ p iff the low 255 bits are ≥ 2^255 − 19: 0xed..0xff, then all 0xff, top 0x7f.
        let y_not_reduced =
            b[0] >= 0xed && b[1..31].iter().all(|&x| x == 0xff) && b[31] & 0x7f == 0x7f;
        if y_not_reduced {
            return Err(RecordError::NonCanonicalKey);
        }
        let vk = VerifyingKey::from_bytes(b).map_err(|_| RecordError::NonCanonicalKey)?;
        if vk.is_weak() {
            return Err(RecordError::WeakKey);
        }
        Ok(vk)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", &self.to_hex()[..16])
    }
}

/// SHA-256 of a record's wire bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordHash(pub [u8; 32]);

impl RecordHash {
    pub fn of(bytes: &[u8]) -> RecordHash {
        RecordHash(Sha256::digest(bytes).into())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Option<RecordHash> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(RecordHash(out))
    }
}

impl fmt::Display for RecordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for RecordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordHash({})", &self.to_hex()[..16])
    }
}

/// What a record is about: `(publisher, kind, local_id)`. A tombstone occupies the
/// identity of the record it withdraws.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Identity {
    pub publisher: PublicKey,
    pub kind: Kind,
    pub local_id: String,
}

impl Identity {
    /// Storage/sync key: 32 key bytes, one kind tag byte, the local id.
    pub fn key(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(33 + self.local_id.len());
        k.extend_from_slice(&self.publisher.0);
        k.push(self.kind.tag());
        k.extend_from_slice(self.local_id.as_bytes());
        k
    }

    pub fn from_key(k: &[u8]) -> Option<Identity> {
        let publisher = PublicKey(k.get(..32)?.try_into().ok()?);
        let kind = Kind::from_tag(*k.get(32)?)?;
        let local_id = std::str::from_utf8(k.get(33..)?).ok()?.to_string();
        Some(Identity {
            publisher,
            kind,
            local_id,
        })
    }

    /// Parse the display form `<publisher hex>/<kind>/<local_id>`.
    pub fn parse(s: &str) -> Option<Identity> {
        let mut it = s.splitn(3, '/');
        let publisher = PublicKey::from_hex(it.next()?)?;
        let kind = Kind::parse(it.next()?)?;
        let local_id = it.next()?.to_string();
        crate::body::common::is_local_id(&local_id).then_some(Identity {
            publisher,
            kind,
            local_id,
        })
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.publisher, self.kind, self.local_id)
    }
}

/// A record before signing.
#[derive(Debug, Clone)]
pub struct UnsignedRecord {
    pub publisher: PublicKey,
    pub seq: u64,
    pub issued_at: Timestamp,
    pub body: Body,
}

impl UnsignedRecord {
    fn envelope(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("v".into(), Value::from(FORMAT_VERSION));
        m.insert("kind".into(), Value::from(self.body.kind().as_str()));
        m.insert("publisher".into(), Value::from(self.publisher.to_hex()));
        m.insert("seq".into(), Value::from(self.seq.to_string()));
        m.insert("issued_at".into(), Value::from(self.issued_at.to_string()));
        m.insert("body".into(), self.body.to_json());
        m
    }

    /// The exact bytes the signature covers: prefix ‖ canonical(envelope without sig).
    pub fn signing_bytes(&self) -> Vec<u8> {
        signing_bytes(&Value::Object(self.envelope()))
    }
}

fn signing_bytes(unsigned: &Value) -> Vec<u8> {
    let mut msg = SIGNING_PREFIX.to_vec();
    msg.extend_from_slice(&canonical::encode(unsigned));
    msg
}

/// In canonical form the wire bytes of a record end with its last two members,
/// `,"sig":"<128 hex>","v":1}` (`sig` and `v` sort last and no other member may
/// follow them).
const WIRE_SIG_HEAD: &[u8] = b",\"sig\":\"";
const WIRE_TAIL: &[u8] = b"\",\"v\":1}";
const SIG_HEX_LEN: usize = 128;

/// The signing bytes of a record that passed [`Record::decode_parts`]: its canonical
/// envelope without `sig` is the wire bytes with the `,"sig":"…"` member cut out, so
/// no second encoding is needed. `None` if the bytes do not end as canonical records
/// do (cannot happen after a successful decode).
#[cfg(test)]
fn signing_bytes_of_wire(wire: &[u8]) -> Option<Vec<u8>> {
    let mut msg = Vec::new();
    signing_bytes_of_wire_into(wire, &mut msg).then_some(msg)
}

/// [`signing_bytes_of_wire`] into `msg` (cleared first); false if the bytes do not
/// end as canonical records do.
fn signing_bytes_of_wire_into(wire: &[u8], msg: &mut Vec<u8>) -> bool {
    msg.clear();
    let Some(sig_at) = wire
        .len()
        .checked_sub(WIRE_SIG_HEAD.len() + SIG_HEX_LEN + WIRE_TAIL.len())
    else {
        return false;
    };
    if !wire[sig_at..].starts_with(WIRE_SIG_HEAD) || !wire.ends_with(WIRE_TAIL) {
        return false;
    }
    let closing = &WIRE_TAIL[1..]; // `,"v":1}` without the sig's closing quote
    msg.reserve(SIGNING_PREFIX.len() + sig_at + closing.len());
    msg.extend_from_slice(SIGNING_PREFIX);
    msg.extend_from_slice(&wire[..sig_at]);
    msg.extend_from_slice(closing);
    true
}

thread_local! {
    /// The signing bytes of the record being verified, reused from record to record
    /// (a batch of records needs no allocation for them).
    static SIGNING_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Publisher keys whose point checks passed recently, per thread (most recent
/// last). Decoding a key costs a field square root, ~6 µs or a tenth of a signature
/// check, and the records of a batch come from few publishers.
const KEY_CACHE_LEN: usize = 16;

thread_local! {
    static CHECKED_KEYS: std::cell::RefCell<Vec<(PublicKey, VerifyingKey)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// [`PublicKey::check_point`], remembering the keys that passed.
fn checked_key(key: &PublicKey) -> Result<VerifyingKey, RecordError> {
    CHECKED_KEYS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(i) = cache.iter().position(|(k, _)| k == key) {
            let hit = cache.remove(i);
            let vk = hit.1;
            cache.push(hit);
            return Ok(vk);
        }
        let vk = key.check_point()?;
        if cache.len() >= KEY_CACHE_LEN {
            cache.remove(0);
        }
        cache.push((*key, vk));
        Ok(vk)
    })
}

/// A publisher's signing key.
pub struct Keypair(SigningKey);

impl Keypair {
    pub fn from_seed(seed: &[u8; 32]) -> Keypair {
        Keypair(SigningKey::from_bytes(seed))
    }

    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    pub fn sign_bytes(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg).to_bytes()
    }

    /// Sign a body as record number `seq`. Panics never; refuses a body that breaks a
    /// rule or a record that would exceed [`MAX_RECORD_BYTES`].
    pub fn sign(&self, seq: u64, issued_at: Timestamp, body: Body) -> Result<Record, RecordError> {
        body.validate().map_err(RecordError::Body)?;
        let unsigned = UnsignedRecord {
            publisher: self.public(),
            seq,
            issued_at,
            body,
        };
        let mut env = unsigned.envelope();
        let sig = self.sign_bytes(&signing_bytes(&Value::Object(env.clone())));
        env.insert("sig".into(), Value::from(hex::encode(sig)));
        let bytes = canonical::encode(&Value::Object(env));
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(RecordError::TooLarge {
                size: bytes.len(),
                limit: MAX_RECORD_BYTES,
            });
        }
        let UnsignedRecord {
            publisher,
            seq,
            issued_at,
            body,
        } = unsigned;
        Ok(Record {
            hash: RecordHash::of(&bytes),
            bytes: bytes.into(),
            publisher,
            seq,
            issued_at,
            body,
        })
    }
}

/// Options of [`Record::verify`]: the verifier's clock and its tolerance.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    pub now: Timestamp,
    pub max_future_skew_secs: u64,
}

/// A decoded, verified record. Cheap to clone (bytes are shared).
#[derive(Debug, Clone)]
pub struct Record {
    bytes: Arc<[u8]>,
    hash: RecordHash,
    pub publisher: PublicKey,
    pub seq: u64,
    pub issued_at: Timestamp,
    pub body: Body,
}

impl PartialEq for Record {
    fn eq(&self, other: &Record) -> bool {
        self.hash == other.hash
    }
}
impl Eq for Record {}

fn field<'a>(m: &'a Map<String, Value>, name: &'static str) -> Result<&'a Value, RecordError> {
    m.get(name).ok_or(RecordError::Envelope {
        field: name,
        message: "is missing".into(),
    })
}

fn str_field<'a>(m: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, RecordError> {
    field(m, name)?.as_str().ok_or(RecordError::Envelope {
        field: name,
        message: "must be a string".into(),
    })
}

fn bad(field: &'static str, message: impl Into<String>) -> RecordError {
    RecordError::Envelope {
        field,
        message: message.into(),
    }
}

/// Decimal u64 ≥ 1 without leading zeros.
fn parse_seq(s: &str) -> Option<u64> {
    if s.is_empty() || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn check_size(bytes: &[u8]) -> Result<(), RecordError> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(RecordError::TooLarge {
            size: bytes.len(),
            limit: MAX_RECORD_BYTES,
        });
    }
    Ok(())
}

/// The text of a JSON string token without escapes (`"abc"` → `abc`); `None` for
/// anything else.
fn plain_str(token: &[u8]) -> Option<&str> {
    let inner = token.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if inner.contains(&b'\\') || inner.contains(&b'"') {
        return None;
    }
    std::str::from_utf8(inner).ok()
}

impl Record {
    /// Decode wire bytes and check everything: size, canonical form, envelope, body
    /// rules, key point, strict signature, and `issued_at` against the clock.
    pub fn verify(bytes: &[u8], opts: &VerifyOptions) -> Result<Record, RecordError> {
        let (record, sig) = Record::decode_parts(bytes)?;
        let vk = checked_key(&record.publisher)?;
        let sig = Signature::from_bytes(&sig);
        SIGNING_BUF.with(|buf| {
            let mut msg = buf.borrow_mut();
            if !signing_bytes_of_wire_into(bytes, &mut msg) {
                return Err(RecordError::BadSignature);
            }
            vk.verify_strict(&msg, &sig)
                .map_err(|_| RecordError::BadSignature)
        })?;
        let limit = opts.now.0.saturating_add(opts.max_future_skew_secs as i64);
        if record.issued_at.0 > limit {
            return Err(RecordError::FromTheFuture {
                issued_at: record.issued_at.to_string(),
                now: opts.now.to_string(),
                max_skew_secs: opts.max_future_skew_secs,
            });
        }
        Ok(record)
    }

    /// Decode bytes that were verified before (read back from our own store): every
    /// structural check, no signature check.
    pub fn decode_trusted(bytes: &[u8]) -> Result<Record, RecordError> {
        Record::decode_parts(bytes).map(|(r, _)| r)
    }

    /// [`Record::decode_trusted`] without its fast path: always the JSON tree, the
    /// canonical comparison and [`Body::from_json`]. It gives the same result on
    /// every input (the fast path accepts only records this accepts, with the same
    /// fields, and leaves every error to it); for differential tests, fuzzing and
    /// benchmarks.
    pub fn decode_trusted_exact(bytes: &[u8]) -> Result<Record, RecordError> {
        check_size(bytes)?;
        Record::decode_exact(bytes).map(|(r, _)| r)
    }

    fn decode_parts(bytes: &[u8]) -> Result<(Record, [u8; 64]), RecordError> {
        check_size(bytes)?;
        match Record::decode_fast(bytes) {
            Some(parts) => Ok(parts),
            None => Record::decode_exact(bytes),
        }
    }

    /// The common case in one pass over the bytes and no JSON tree: a record whose
    /// bytes pass the canonical scan ([`canonical::scan`]) with exactly the seven
    /// envelope members, plain strings, `"v":1`, and a body that is accepted by
    /// [`Body::from_canonical`]. `None` whenever anything is off or the scan
    /// cannot tell; then [`Record::decode_exact`] decides and names the error. Every
    /// record accepted here is accepted by `decode_exact` with the same fields (a
    /// test in `src/tests/fast_decode.rs` checks both on valid and broken records).
    pub(crate) fn decode_fast(bytes: &[u8]) -> Option<(Record, [u8; 64])> {
        const NAMES: [&[u8]; 7] = [
            b"body",
            b"issued_at",
            b"kind",
            b"publisher",
            b"seq",
            b"sig",
            b"v",
        ];
        let scanned = canonical::scan::scan::<7>(bytes)?;
        if scanned.count != NAMES.len() || scanned.has_droppable {
            return None;
        }
        if scanned.members.iter().zip(NAMES).any(|(m, n)| m.name != n) {
            return None;
        }
        let body_shape = scanned.members[0].shape;
        let [body, issued_at, kind, publisher, seq, sig_hex, v] = scanned.members.map(|m| m.value);
        if v != b"1" {
            return None;
        }
        let kind = Kind::parse(plain_str(kind)?)?;
        let publisher = PublicKey::from_hex(plain_str(publisher)?)?;
        let seq = parse_seq(plain_str(seq)?)?;
        let issued_at = Timestamp::parse(plain_str(issued_at)?)?;
        let sig_hex = plain_str(sig_hex)?;
        if sig_hex.len() != 128 || sig_hex.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let mut sig = [0u8; 64];
        hex::decode_to_slice(sig_hex, &mut sig).ok()?;
        let body = Body::from_canonical(kind, body, body_shape)?;
        let record = Record {
            hash: RecordHash::of(bytes),
            bytes: bytes.into(),
            publisher,
            seq,
            issued_at,
            body,
        };
        Some((record, sig))
    }

    /// The exact decoder: a JSON tree, the canonical comparison, every envelope
    /// rule and [`Body::from_json`], each failure with its own error.
    pub(crate) fn decode_exact(bytes: &[u8]) -> Result<(Record, [u8; 64]), RecordError> {
        let value = canonical::decode_strict(bytes)?;
        let Value::Object(m) = value else {
            return Err(bad("record", "must be a JSON object"));
        };
        match field(&m, "v")?.as_u64() {
            Some(FORMAT_VERSION) => {}
            Some(v) => return Err(RecordError::UnsupportedVersion(v)),
            None => return Err(bad("v", "must be the integer 1")),
        }
        if let Some(extra) = m.keys().find(|k| {
            !matches!(
                k.as_str(),
                "v" | "kind" | "publisher" | "seq" | "issued_at" | "body" | "sig"
            )
        }) {
            return Err(RecordError::Envelope {
                field: "record",
                message: format!("unknown envelope field {extra:?}"),
            });
        }
        let kind = Kind::parse(str_field(&m, "kind")?).ok_or_else(|| {
            bad(
                "kind",
                "must be entry, mapping_set, event, tombstone or membership",
            )
        })?;
        let publisher = PublicKey::from_hex(str_field(&m, "publisher")?)
            .ok_or_else(|| bad("publisher", "must be 64 lowercase hex digits"))?;
        let seq = parse_seq(str_field(&m, "seq")?).ok_or_else(|| {
            bad(
                "seq",
                "must be a decimal string from 1 to 18446744073709551615, no leading zeros",
            )
        })?;
        let issued_at = Timestamp::parse(str_field(&m, "issued_at")?)
            .ok_or_else(|| bad("issued_at", "must be YYYY-MM-DDTHH:MM:SSZ"))?;
        let sig_hex = str_field(&m, "sig")?;
        let mut sig = [0u8; 64];
        if sig_hex.len() != 128 || sig_hex.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad("sig", "must be 128 lowercase hex digits"));
        }
        hex::decode_to_slice(sig_hex, &mut sig)
            .map_err(|_| bad("sig", "must be 128 lowercase hex digits"))?;
        let body = Body::from_json(kind, field(&m, "body")?).map_err(RecordError::Body)?;
        let record = Record {
            hash: RecordHash::of(bytes),
            bytes: bytes.into(),
            publisher,
            seq,
            issued_at,
            body,
        };
        Ok((record, sig))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn hash(&self) -> RecordHash {
        self.hash
    }

    pub fn kind(&self) -> Kind {
        self.body.kind()
    }

    pub fn identity(&self) -> Identity {
        let (kind, local_id) = self.body.slot();
        Identity {
            publisher: self.publisher,
            kind,
            local_id: local_id.to_string(),
        }
    }

    pub fn is_tombstone(&self) -> bool {
        self.kind() == Kind::Tombstone
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::sample_entry_body;

    #[test]
    fn signing_bytes_cut_from_the_wire_equal_the_encoded_envelope() {
        let kp = Keypair::from_seed(&[3; 32]);
        for seq in [1, 9, 10, 18_446_744_073_709_551_615] {
            let issued_at = Timestamp::parse("2026-11-28T12:00:00Z").unwrap();
            let r = kp.sign(seq, issued_at, sample_entry_body()).unwrap();
            let unsigned = UnsignedRecord {
                publisher: r.publisher,
                seq: r.seq,
                issued_at: r.issued_at,
                body: r.body.clone(),
            };
            assert_eq!(
                signing_bytes_of_wire(r.bytes()).as_deref(),
                Some(&unsigned.signing_bytes()[..]),
                "seq {seq}"
            );
        }
    }

    #[test]
    fn wire_bytes_without_the_canonical_tail_give_no_signing_bytes() {
        assert_eq!(signing_bytes_of_wire(b"{}"), None);
        let kp = Keypair::from_seed(&[3; 32]);
        let issued_at = Timestamp::parse("2026-11-28T12:00:00Z").unwrap();
        let r = kp.sign(1, issued_at, sample_entry_body()).unwrap();
        let mut b = r.bytes().to_vec();
        b.truncate(b.len() - 1);
        b.extend_from_slice(b" }");
        assert_eq!(signing_bytes_of_wire(&b), None);
    }
}
