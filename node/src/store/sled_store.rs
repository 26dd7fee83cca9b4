//! The sled implementation of [`Store`]: record bytes in append-only segment files
//! (`segments.rs`), everything else in one sled tree with one-byte key prefixes (see
//! `keys.rs`, which also says what each store format holds). Writes are serialised by
//! a mutex: a batch's record bytes are appended and fsynced first, then its rows are
//! applied as one atomic sled batch and flushed. Opening checks the format marker
//! (`format.rs`): formats 1 and 2 are migrated, an unknown format refused.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::format::{self, Marker};
use super::keys::{self, index_keys, key, SyncItem, COUNTS_KEY, SEGMENT_END_KEY};
use super::segments::{Location, SegmentEnd, Segments};
use super::{Applied, ApplyOutcome, Counts, Evidence, IndexKey, ListFilter, Store, StoreError};
use techmesh_protocol::record::{Identity, PublicKey, Record, RecordHash};
use techmesh_protocol::version::Version;
use techmesh_protocol::Kind;

/// Log segment size of new stores. sled's default (512 KiB) made a store of 100 000
/// records 5.1 × their size on disk and 8 MiB 2.1 × (docs/BENCHMARKS.md, "Store"):
/// with small segments, every flush of a batch leaves many partly dead segments.
pub const SEGMENT_SIZE: usize = 8 * 1024 * 1024;

pub struct SledStore {
    pub(super) db: sled::Db,
    pub(super) tree: sled::Tree,
    pub(super) segments: Segments,
    writer: Mutex<()>,
}

pub(super) fn corrupt(what: &str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        detail: detail.to_string(),
    }
}

pub(super) fn parse_current(v: &[u8]) -> Result<Version, StoreError> {
    if v.len() != 40 {
        return Err(corrupt("current version", format!("{} bytes", v.len())));
    }
    let seq = u64::from_be_bytes(
        v[..8]
            .try_into()
            .map_err(|_| corrupt("current version", "seq"))?,
    );
    let hash = RecordHash(
        v[8..40]
            .try_into()
            .map_err(|_| corrupt("current version", "hash"))?,
    );
    Ok(Version { seq, hash })
}

fn current_value(v: &Version) -> Vec<u8> {
    let mut out = v.seq.to_be_bytes().to_vec();
    out.extend_from_slice(&v.hash.0);
    out
}

impl SledStore {
    /// The sled configuration of the store at `path`: LowSpace mode, a page cache
    /// of `cache_mb` MiB, and [`SEGMENT_SIZE`] log segments for a new store (sled
    /// refuses to reopen a store with another segment size, so an existing store
    /// keeps the size recorded in its `conf` file).
    pub fn sled_config(path: &Path, cache_mb: u64) -> sled::Config {
        let recorded = std::fs::read_to_string(path.join("conf"))
            .ok()
            .and_then(|conf| {
                conf.lines()
                    .find_map(|l| l.strip_prefix("segment_size: ")?.trim().parse().ok())
            });
        sled::Config::new()
            .path(path)
            .cache_capacity(cache_mb * 1024 * 1024)
            .mode(sled::Mode::LowSpace)
            .segment_size(recorded.unwrap_or(SEGMENT_SIZE))
    }

    /// Open (or create) the store at `path` with a page cache of `cache_mb` MiB.
    pub fn open(path: &Path, cache_mb: u64) -> Result<SledStore, StoreError> {
        let cfg = SledStore::sled_config(path, cache_mb);
        let db = cfg.open().map_err(|e| match e {
            sled::Error::Io(ref io)
                if io.kind() == std::io::ErrorKind::WouldBlock
                    || io.to_string().contains("lock") =>
            {
                StoreError::Locked {
                    path: path.display().to_string(),
                }
            }
            other => StoreError::Db(other),
        })?;
        let tree = db.open_tree("records")?;
        let marker = format::read_marker(&tree, path)?;
        let referenced = tree
            .get(SEGMENT_END_KEY)?
            .map(|v| SegmentEnd::decode(&v).ok_or_else(|| corrupt("segment end", hex::encode(&v))))
            .transpose()?;
        let (segments, recovered) = Segments::open(path, referenced)?;
        if recovered != Default::default() {
            tracing::warn!(
                store = %path.display(),
                bytes = recovered.truncated_bytes,
                files = recovered.removed_files,
                "store opened after an interrupted write: unacknowledged record bytes past the last committed batch cut off"
            );
        }
        let store = SledStore {
            db,
            tree,
            segments,
            writer: Mutex::new(()),
        };
        if marker != Marker::Current {
            format::migrate(&store, path, marker)?;
        }
        Ok(store)
    }

    fn decode(&self, bytes: &[u8]) -> Result<Record, StoreError> {
        Record::decode_trusted(bytes).map_err(|e| corrupt("record", e))
    }

    fn current(&self, id_key: &[u8]) -> Result<Option<Version>, StoreError> {
        self.tree
            .get(key(keys::CURRENT, &[id_key]))?
            .map(|v| parse_current(&v))
            .transpose()
    }

    /// Where the bytes of the current version `hash` are, if it is stored.
    pub(super) fn location(&self, hash: &RecordHash) -> Result<Option<Location>, StoreError> {
        self.tree
            .get(key(keys::BLOB, &[&hash.0]))?
            .map(|v| {
                Location::decode(&v)
                    .ok_or_else(|| corrupt("record location", format!("{hash}: {} bytes", v.len())))
            })
            .transpose()
    }

    fn blob_bytes(&self, hash: &RecordHash) -> Result<Option<Vec<u8>>, StoreError> {
        self.location(hash)?
            .map(|loc| self.segments.read(&loc))
            .transpose()
    }

    pub(super) fn blob(&self, hash: &RecordHash) -> Result<Option<Record>, StoreError> {
        self.blob_bytes(hash)?.map(|b| self.decode(&b)).transpose()
    }

    pub(super) fn prefix_count(&self, prefix: &[u8]) -> u64 {
        self.tree.scan_prefix(prefix).count() as u64
    }

    /// The running totals row (recounted, with a warning, if it is missing).
    fn stored_counts(&self) -> Result<Counts, StoreError> {
        match self.tree.get(COUNTS_KEY)? {
            Some(v) => keys::decode_counts(&v).ok_or_else(|| corrupt("counts", hex::encode(&v))),
            None => {
                tracing::warn!("store has no counts row: counting every current version");
                self.recount()
            }
        }
    }

    /// Is the current version of the identity with key `id_key` a tombstone (from its
    /// sync row)?
    fn stored_is_tombstone(&self, id_key: &[u8]) -> Result<bool, StoreError> {
        Ok(self
            .tree
            .get(key(keys::SYNC, &[&keys::identity_digest(id_key)]))?
            .and_then(|v| v.get(73).copied())
            == Some(1))
    }
}

/// State of identities and seqs touched earlier in the same batch.
#[derive(Default)]
struct Pending {
    /// Identity key → new current version, the index of its record in the batch and
    /// whether it is a tombstone.
    current: HashMap<Vec<u8>, (Version, usize, bool)>,
    seqs: HashMap<(PublicKey, u64), RecordHash>,
    watermarks: HashMap<PublicKey, u64>,
}

impl Store for SledStore {
    fn apply(&self, records: &[Record]) -> Result<Vec<ApplyOutcome>, StoreError> {
        let _guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut batch = sled::Batch::default();
        let mut pending = Pending::default();
        let mut out = Vec::with_capacity(records.len());
        let before = self.stored_counts()?;
        let mut counts = before.clone();
        let mut append = self.segments.begin()?;
        for (at, r) in records.iter().enumerate() {
            let id_key = r.identity().key();
            let new = Version::of(r);
            let seq_key = (r.publisher, r.seq);
            // Equivocation: another record under this (publisher, seq)?
            let seen = match pending.seqs.get(&seq_key) {
                Some(h) => Some(*h),
                None => self
                    .tree
                    .get(key(keys::SEQ, &[&r.publisher.0, &r.seq.to_be_bytes()]))?
                    .map(|v| {
                        v.as_ref()
                            .try_into()
                            .map(RecordHash)
                            .map_err(|_| corrupt("seq row", "hash"))
                    })
                    .transpose()?,
            };
            let equivocation_with = seen.filter(|h| *h != r.hash());
            if let Some(other) = equivocation_with {
                let evidence_key = |h: &RecordHash| {
                    key(
                        keys::EVIDENCE,
                        &[&r.publisher.0, &r.seq.to_be_bytes(), &h.0],
                    )
                };
                batch.insert(evidence_key(&r.hash()), r.bytes());
                let other_bytes = match pending.current.values().find(|(v, ..)| v.hash == other) {
                    Some((_, i, _)) => Some(records[*i].bytes().to_vec()),
                    None => self.blob_bytes(&other)?,
                };
                if let Some(b) = other_bytes {
                    batch.insert(evidence_key(&other), b);
                }
            } else if seen.is_none() {
                batch.insert(
                    key(keys::SEQ, &[&r.publisher.0, &r.seq.to_be_bytes()]),
                    &r.hash().0[..],
                );
                pending.seqs.insert(seq_key, r.hash());
            }
            // Watermark.
            let wm = match pending.watermarks.get(&r.publisher) {
                Some(w) => Some(*w),
                None => self.watermark(&r.publisher)?,
            };
            if wm.is_none_or(|w| r.seq > w) {
                batch.insert(
                    key(keys::WATERMARK, &[&r.publisher.0]),
                    &r.seq.to_be_bytes()[..],
                );
                pending.watermarks.insert(r.publisher, r.seq);
            }
            // Version order.
            let (previous, previous_tomb) = match pending.current.get(&id_key) {
                Some((v, _, tomb)) => (Some(*v), Some(*tomb)),
                None => (self.current(&id_key)?, None),
            };
            let kind = r.identity().kind;
            let applied = match &previous {
                Some(v) if v.hash == new.hash => Applied::Duplicate,
                Some(v) if !new.supersedes(v) => Applied::Stale { current: v.hash },
                Some(v) => {
                    batch.remove(key(keys::BLOB, &[&v.hash.0]));
                    let was_tomb = match previous_tomb {
                        Some(t) => t,
                        None => self.stored_is_tombstone(&id_key)?,
                    };
                    keys::tally(&mut counts, kind, was_tomb, false);
                    Applied::Replaced { previous: v.hash }
                }
                None => Applied::Inserted,
            };
            if applied.is_new() {
                batch.insert(key(keys::CURRENT, &[&id_key]), current_value(&new));
                let loc = append.push(r.bytes());
                batch.insert(key(keys::BLOB, &[&new.hash.0]), &loc.encode()[..]);
                let item = SyncItem::of(r);
                batch.insert(key(keys::SYNC, &[&item.id_digest]), item.encode_value());
                keys::tally(&mut counts, kind, item.tombstone, true);
                pending.current.insert(id_key, (new, at, item.tombstone));
            }
            out.push(ApplyOutcome {
                applied,
                equivocation_with,
            });
        }
        if counts != before {
            batch.insert(COUNTS_KEY, keys::encode_counts(&counts));
        }
        if !append.is_empty() {
            batch.insert(SEGMENT_END_KEY, &append.end().encode()[..]);
        }
        // Bytes durable first: a crash after this leaves only an unreferenced tail.
        self.segments.commit(append)?;
        self.tree.apply_batch(batch)?;
        self.db.flush()?;
        Ok(out)
    }

    fn get(&self, id: &Identity) -> Result<Option<Record>, StoreError> {
        match self.current(&id.key())? {
            Some(v) => self.blob(&v.hash),
            None => Ok(None),
        }
    }

    fn get_by_hash(&self, hash: &RecordHash) -> Result<Option<Record>, StoreError> {
        self.blob(hash)
    }

    fn list(&self, f: &ListFilter) -> Result<Vec<Record>, StoreError> {
        let prefix = match &f.publisher {
            Some(p) => key(keys::CURRENT, &[&p.0]),
            None => vec![keys::CURRENT],
        };
        let mut out = Vec::new();
        for row in self.tree.scan_prefix(prefix) {
            let (k, v) = row?;
            let id = Identity::from_key(&k[1..])
                .ok_or_else(|| corrupt("identity key", hex::encode(&k)))?;
            if f.kind.is_some_and(|want| want != id.kind) {
                continue;
            }
            let version = parse_current(&v)?;
            let Some(r) = self.blob(&version.hash)? else {
                return Err(corrupt(
                    "current version",
                    format!("no record bytes for {id}"),
                ));
            };
            if r.is_tombstone() && !f.include_tombstones {
                continue;
            }
            out.push(r);
            if f.limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        Ok(out)
    }

    /// A scan of every current entry (format 2 keeps no index rows: nothing in the
    /// node looks records up this way; tools and tests may).
    fn find(&self, k: &IndexKey) -> Result<Vec<Identity>, StoreError> {
        let mut out = Vec::new();
        for r in self.list(&ListFilter {
            kind: Some(Kind::Entry),
            ..Default::default()
        })? {
            if index_keys(&r.body).contains(k) {
                out.push(r.identity());
            }
        }
        Ok(out)
    }

    fn watermark(&self, publisher: &PublicKey) -> Result<Option<u64>, StoreError> {
        self.tree
            .get(key(keys::WATERMARK, &[&publisher.0]))?
            .map(|v| {
                v.as_ref()
                    .try_into()
                    .map(u64::from_be_bytes)
                    .map_err(|_| corrupt("watermark", "length"))
            })
            .transpose()
    }

    fn equivocations(&self) -> Result<Vec<Evidence>, StoreError> {
        let mut out: Vec<Evidence> = Vec::new();
        for row in self.tree.scan_prefix([keys::EVIDENCE]) {
            let (_, v) = row?;
            let r = self.decode(&v)?;
            match out.last_mut() {
                Some(e) if e.publisher == r.publisher && e.seq == r.seq => e.records.push(r),
                _ => out.push(Evidence {
                    publisher: r.publisher,
                    seq: r.seq,
                    records: vec![r],
                }),
            }
        }
        Ok(out)
    }

    /// The running totals row, kept in every batch: O(1) (`check` recounts).
    fn counts(&self) -> Result<Counts, StoreError> {
        self.stored_counts()
    }

    fn sync_items(&self, prefix: &[u8]) -> Result<Vec<SyncItem>, StoreError> {
        let mut out = Vec::new();
        for row in self.tree.scan_prefix(key(keys::SYNC, &[prefix])) {
            let (k, v) = row?;
            out.push(SyncItem::decode(&k, &v).ok_or_else(|| corrupt("sync row", hex::encode(&k)))?);
        }
        Ok(out)
    }

    fn digest(&self) -> Result<[u8; 32], StoreError> {
        let mut h = Sha256::new();
        for row in self.tree.scan_prefix([keys::SYNC]) {
            let (k, v) = row?;
            h.update(&k[1..]);
            h.update(v.get(8..40).unwrap_or(&[]));
        }
        Ok(h.finalize().into())
    }

    fn check(&self) -> Result<Vec<String>, StoreError> {
        self.problems()
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    fn purge_publisher_where(
        &self,
        publisher: &PublicKey,
        doomed: &dyn Fn(&Record) -> bool,
    ) -> Result<Vec<Identity>, StoreError> {
        let _guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut batch = sled::Batch::default();
        let mut removed = Vec::new();
        let mut counts = self.stored_counts()?;
        for row in self.tree.scan_prefix(key(keys::CURRENT, &[&publisher.0])) {
            let (k, v) = row?;
            let id_key = &k[1..];
            let id = Identity::from_key(id_key)
                .ok_or_else(|| corrupt("identity key", hex::encode(&k)))?;
            let version = parse_current(&v)?;
            let Some(r) = self.blob(&version.hash)? else {
                return Err(corrupt(
                    "current version",
                    format!("no record bytes for {id}"),
                ));
            };
            if !doomed(&r) {
                continue;
            }
            batch.remove(k.to_vec());
            batch.remove(key(keys::BLOB, &[&version.hash.0]));
            batch.remove(key(keys::SYNC, &[&keys::identity_digest(id_key)]));
            keys::tally(&mut counts, id.kind, r.is_tombstone(), false);
            removed.push(id);
        }
        if !removed.is_empty() {
            batch.insert(COUNTS_KEY, keys::encode_counts(&counts));
            self.tree.apply_batch(batch)?;
            self.db.flush()?;
        }
        Ok(removed)
    }
}
