//! On-disk layout of the store, format 4 ([`STORE_FORMAT`]), in the store dir:
//!
//! - `records/NNNNNNNN.seg`: record bytes, append-only CRC-framed segment files
//!   (`segments.rs`);
//! - `index/index.log`: the index log (`indexlog.rs`), CRC-framed frames of changes,
//!   one per `apply`/`purge` batch; replayed at open into the in-memory index
//!   (`memindex.rs`): per current version its identity digest, record hash, seq,
//!   segment location, publisher, kind, scope and tombstone flag; watermarks; the
//!   hash of every `(publisher, seq)` ever seen; the segment end;
//! - sled's files (one tree, one-byte key prefixes) for what is rare:
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `e` | publisher ‖ seq ‖ hash | record bytes — equivocation evidence |
//! | `m` | `format` | the store format, decimal ASCII ([`STORE_FORMAT`]) |
//!
//! A batch's record bytes are appended and fsynced, then its index frame (the commit
//! point); evidence is written to sled before both.
//!
//! Earlier formats, migrated on open (`format.rs`):
//! - format 3 held, per record, four sled rows (sled 0.34 replays its whole page log
//!   at open, and random keys made that log large: 6.9 s to reopen 1 M records):
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `c` | identity key | seq (8, BE) ‖ record hash (32) — the current version |
//! | `h` | record hash | location (16): segment (4, BE) ‖ offset (8, BE) ‖ length (4, BE) — current versions only |
//! | `s` | publisher ‖ seq (BE) | record hash — every version ever seen |
//! | `w` | publisher | highest seq seen (8, BE) |
//! | `y` | identity digest (16) | seq ‖ hash ‖ scope (1) ‖ publisher (32) ‖ tombstone (1) — sync index |
//! | `m` | `counts` | current versions by kind (5 × 8, BE) |
//! | `m` | `segend` | durable end of the segment files: segment (4, BE) ‖ end offset (8, BE) |
//!
//! - format 2 held each current record's bytes as the `h` value (83 % of sled's log)
//!   and no `counts`/`segend` rows;
//! - format 1 also held `i` rows (index key ‖ 0x00 ‖ identity key, one per entry type,
//!   country, event and *every ancestor of every classification code*: 11 rows per
//!   typical entry, 31 % of the store's bytes). Nothing in the node read them — search,
//!   matching and agendas use the in-memory index of `query/`, rebuilt from the
//!   store — so format 2 dropped them; [`Store::find`](super::Store::find) scans instead.

use sha2::{Digest, Sha256};

use techmesh_protocol::body::{Body, Scope};
use techmesh_protocol::codes::{self, Scheme};
use techmesh_protocol::record::{PublicKey, Record, RecordHash};

/// Row prefixes of format 3 (read by the migration to format 4, then deleted).
pub const CURRENT: u8 = b'c';
pub const BLOB: u8 = b'h';
pub const SEQ: u8 = b's';
pub const WATERMARK: u8 = b'w';
pub const EVIDENCE: u8 = b'e';
pub const SYNC: u8 = b'y';
/// Secondary-index rows of format 1 (none since format 2; deleted when migrating).
pub const LEGACY_INDEX: u8 = b'i';

/// The on-disk layout this code reads and writes (above).
pub const STORE_FORMAT: u32 = 4;
/// Key of the format marker row.
pub const FORMAT_KEY: &[u8] = b"mformat";
/// Key of format 3's running totals row (current versions by kind).
pub const COUNTS_KEY: &[u8] = b"mcounts";
/// Key of format 3's durable segment end row.
pub const SEGMENT_END_KEY: &[u8] = b"msegend";

pub fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    k.push(prefix);
    parts.iter().for_each(|p| k.extend_from_slice(p));
    k
}

/// 16-byte digest of an identity key: spreads identities uniformly for sync ranges.
pub fn identity_digest(id_key: &[u8]) -> [u8; 16] {
    let full = Sha256::digest(id_key);
    let mut d = [0u8; 16];
    d.copy_from_slice(&full[..16]);
    d
}

/// One row of the sync index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncItem {
    pub id_digest: [u8; 16],
    pub seq: u64,
    pub hash: RecordHash,
    pub scope: Scope,
    pub publisher: PublicKey,
    /// A tombstone (sent wherever its target could go).
    pub tombstone: bool,
}

impl SyncItem {
    pub fn of(r: &Record) -> SyncItem {
        SyncItem {
            id_digest: identity_digest(&r.identity().key()),
            seq: r.seq,
            hash: r.hash(),
            scope: r.body.scope(),
            publisher: r.publisher,
            tombstone: r.is_tombstone(),
        }
    }

    pub fn encode_value(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(74);
        v.extend_from_slice(&self.seq.to_be_bytes());
        v.extend_from_slice(&self.hash.0);
        v.push(match self.scope {
            Scope::Federation => b'f',
            Scope::National => b'n',
            Scope::International => b'i',
        });
        v.extend_from_slice(&self.publisher.0);
        v.push(u8::from(self.tombstone));
        v
    }

    pub fn decode(key: &[u8], v: &[u8]) -> Option<SyncItem> {
        if key.len() != 17 || v.len() != 74 {
            return None;
        }
        Some(SyncItem {
            id_digest: key[1..17].try_into().ok()?,
            seq: u64::from_be_bytes(v[0..8].try_into().ok()?),
            hash: RecordHash(v[8..40].try_into().ok()?),
            scope: match v[40] {
                b'n' => Scope::National,
                b'i' => Scope::International,
                _ => Scope::Federation,
            },
            publisher: PublicKey(v[41..73].try_into().ok()?),
            tombstone: v[73] == 1,
        })
    }
}

/// A secondary index a caller can look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexKey {
    /// A classification code: matches that code and every narrower code.
    Code {
        scheme: Scheme,
        code: String,
    },
    EntryType(String),
    /// Organisation country of entries.
    Country(String),
    /// Entries registered for an event (by event local id).
    Event(String),
}

impl IndexKey {
    pub fn encode(&self) -> Vec<u8> {
        let (tag, a, b) = match self {
            IndexKey::Code { scheme, code } => (b'c', scheme.as_str(), code.as_str()),
            IndexKey::EntryType(t) => (b't', t.as_str(), ""),
            IndexKey::Country(c) => (b'o', c.as_str(), ""),
            IndexKey::Event(e) => (b'v', e.as_str(), ""),
        };
        let mut k = vec![tag];
        k.extend_from_slice(a.as_bytes());
        k.push(0x1f);
        k.extend_from_slice(b.as_bytes());
        k.push(0);
        k
    }
}

/// Every index key a record answers to (entries only; others have none).
pub fn index_keys(body: &Body) -> Vec<IndexKey> {
    let Body::Entry(e) = body else {
        return Vec::new();
    };
    let mut out = vec![
        IndexKey::EntryType(e.entry_type.as_str().into()),
        IndexKey::Country(e.organisation.country.clone()),
    ];
    for c in &e.classifications {
        if let Some(scheme) = Scheme::parse(&c.scheme) {
            for code in codes::ancestors(scheme, &c.code) {
                out.push(IndexKey::Code { scheme, code });
            }
        }
    }
    out.extend(e.events.iter().map(|ev| IndexKey::Event(ev.clone())));
    out.sort_by_key(|a| a.encode());
    out.dedup();
    out
}

/// Add (`up`) or remove one current version of an identity of `kind` to `c`; a
/// withdrawn identity (its current version is a tombstone) counts as a tombstone.
pub fn tally(c: &mut super::Counts, kind: techmesh_protocol::Kind, tombstone: bool, up: bool) {
    use techmesh_protocol::Kind;
    let slot = match (tombstone, kind) {
        (true, _) | (false, Kind::Tombstone) => &mut c.tombstone,
        (false, Kind::Entry) => &mut c.entry,
        (false, Kind::MappingSet) => &mut c.mapping_set,
        (false, Kind::Event) => &mut c.event,
        (false, Kind::Membership) => &mut c.membership,
    };
    *slot = if up {
        *slot + 1
    } else {
        slot.saturating_sub(1)
    };
}
