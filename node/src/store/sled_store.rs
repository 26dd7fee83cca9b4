//! The sled implementation of [`Store`]: one tree, one-byte key prefixes (see
//! `keys.rs`, which also says what each store format holds), writes serialised by a
//! mutex and applied as one atomic batch, then flushed. Opening checks the format
//! marker: a format-1 store is migrated, an unknown format refused.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::keys::{self, index_keys, key, SyncItem, FORMAT_KEY, STORE_FORMAT};
use super::{Applied, ApplyOutcome, Counts, Evidence, IndexKey, ListFilter, Store, StoreError};
use techmesh_protocol::record::{Identity, PublicKey, Record, RecordHash};
use techmesh_protocol::version::Version;
use techmesh_protocol::Kind;

/// Log segment size of new stores. sled's default (512 KiB) made a store of 100 000
/// records 5.1 × their size on disk and 8 MiB 2.1 × (docs/BENCHMARKS.md, "Store"):
/// with small segments, every flush of a batch leaves many partly dead segments.
pub const SEGMENT_SIZE: usize = 8 * 1024 * 1024;

/// Rows deleted per batch when migrating a format-1 store.
const MIGRATION_BATCH: u64 = 10_000;

pub struct SledStore {
    db: sled::Db,
    pub(super) tree: sled::Tree,
    writer: Mutex<()>,
}

fn corrupt(what: &str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        detail: detail.to_string(),
    }
}

fn parse_current(v: &[u8]) -> Result<Version, StoreError> {
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
        let store = SledStore {
            db,
            tree,
            writer: Mutex::new(()),
        };
        store.settle_format(path)?;
        Ok(store)
    }

    /// Check the format marker: write it into a new store, migrate format 1 (no
    /// marker, records present) by deleting its secondary-index rows, refuse any
    /// other format. The marker is written only after the migration's deletions
    /// are flushed, so an interrupted migration simply runs again.
    fn settle_format(&self, path: &Path) -> Result<(), StoreError> {
        match self.tree.get(FORMAT_KEY)? {
            Some(v) => {
                let found = std::str::from_utf8(&v)
                    .ok()
                    .and_then(|s| s.parse::<u32>().ok());
                if found == Some(STORE_FORMAT) {
                    return Ok(());
                }
                let shown = found.map_or_else(
                    || format!("{:?}", String::from_utf8_lossy(&v)),
                    |f| f.to_string(),
                );
                Err(StoreError::Format {
                    path: path.display().to_string(),
                    detail: format!(
                        "it has format {shown} and this techmesh reads format {STORE_FORMAT} \
                         (a newer techmesh wrote it? rebuild it by syncing from peers into an empty data dir)"
                    ),
                })
            }
            None => {
                let mut batch = sled::Batch::default();
                let mut legacy = 0u64;
                for row in self.tree.scan_prefix([keys::LEGACY_INDEX]) {
                    let (k, _) = row?;
                    batch.remove(k);
                    legacy += 1;
                    if legacy.is_multiple_of(MIGRATION_BATCH) {
                        self.tree.apply_batch(std::mem::take(&mut batch))?;
                    }
                }
                self.tree.apply_batch(batch)?;
                self.db.flush()?;
                if legacy > 0 {
                    tracing::info!(
                        store = %path.display(),
                        rows = legacy,
                        "store migrated from format 1 to {STORE_FORMAT}: secondary-index rows deleted"
                    );
                }
                self.tree
                    .insert(FORMAT_KEY, STORE_FORMAT.to_string().as_bytes())?;
                self.db.flush()?;
                Ok(())
            }
        }
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

    fn blob(&self, hash: &RecordHash) -> Result<Option<Record>, StoreError> {
        self.tree
            .get(key(keys::BLOB, &[&hash.0]))?
            .map(|b| self.decode(&b))
            .transpose()
    }

    fn prefix_count(&self, prefix: &[u8]) -> u64 {
        self.tree.scan_prefix(prefix).count() as u64
    }
}

/// State of identities and seqs touched earlier in the same batch.
#[derive(Default)]
struct Pending {
    /// Identity key → new current version and the index of its record in the batch.
    current: HashMap<Vec<u8>, (Version, usize)>,
    seqs: HashMap<(PublicKey, u64), RecordHash>,
    watermarks: HashMap<PublicKey, u64>,
}

impl Store for SledStore {
    fn apply(&self, records: &[Record]) -> Result<Vec<ApplyOutcome>, StoreError> {
        let _guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut batch = sled::Batch::default();
        let mut pending = Pending::default();
        let mut out = Vec::with_capacity(records.len());
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
                let other_bytes = match pending.current.values().find(|(v, _)| v.hash == other) {
                    Some((_, i)) => Some(records[*i].bytes().to_vec()),
                    None => self
                        .tree
                        .get(key(keys::BLOB, &[&other.0]))?
                        .map(|b| b.to_vec()),
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
            let previous: Option<Version> = match pending.current.get(&id_key) {
                Some((v, _)) => Some(*v),
                None => self.current(&id_key)?,
            };
            let applied = match &previous {
                Some(v) if v.hash == new.hash => Applied::Duplicate,
                Some(v) if !new.supersedes(v) => Applied::Stale { current: v.hash },
                Some(v) => {
                    batch.remove(key(keys::BLOB, &[&v.hash.0]));
                    Applied::Replaced { previous: v.hash }
                }
                None => Applied::Inserted,
            };
            if applied.is_new() {
                batch.insert(key(keys::CURRENT, &[&id_key]), current_value(&new));
                batch.insert(key(keys::BLOB, &[&new.hash.0]), r.bytes());
                let item = SyncItem::of(r);
                batch.insert(key(keys::SYNC, &[&item.id_digest]), item.encode_value());
                pending.current.insert(id_key, (new, at));
            }
            out.push(ApplyOutcome {
                applied,
                equivocation_with,
            });
        }
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

    fn counts(&self) -> Result<Counts, StoreError> {
        let mut c = Counts::default();
        for row in self.tree.scan_prefix([keys::CURRENT]) {
            let (k, v) = row?;
            let version = parse_current(&v)?;
            let kind = Kind::from_tag(*k.get(33).unwrap_or(&0));
            // A withdrawn identity holds a tombstone: count it as one.
            let is_tomb = self
                .tree
                .get(key(keys::SYNC, &[&keys::identity_digest(&k[1..])]))?
                .and_then(|v| v.get(73).copied())
                == Some(1);
            match (is_tomb, kind) {
                (true, _) => c.tombstone += 1,
                (false, Some(Kind::Entry)) => c.entry += 1,
                (false, Some(Kind::MappingSet)) => c.mapping_set += 1,
                (false, Some(Kind::Event)) => c.event += 1,
                (false, Some(Kind::Membership)) => c.membership += 1,
                _ => return Err(corrupt("identity key", hex::encode(&k))),
            }
            let _ = version;
        }
        Ok(c)
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
        let mut problems = Vec::new();
        let mut current = 0u64;
        for row in self.tree.scan_prefix([keys::CURRENT]) {
            let (k, v) = row?;
            current += 1;
            let Some(id) = Identity::from_key(&k[1..]) else {
                problems.push(format!("unreadable identity key {}", hex::encode(&k)));
                continue;
            };
            let version = parse_current(&v)?;
            let Some(r) = self.blob(&version.hash)? else {
                problems.push(format!(
                    "{id}: current version {} has no record bytes",
                    version.hash
                ));
                continue;
            };
            if r.identity() != id || r.seq != version.seq {
                problems.push(format!(
                    "{id}: record bytes disagree with the current-version row"
                ));
            }
            match self
                .tree
                .get(key(keys::SYNC, &[&keys::identity_digest(&k[1..])]))?
            {
                Some(s)
                    if SyncItem::decode(
                        &key(keys::SYNC, &[&keys::identity_digest(&k[1..])]),
                        &s,
                    )
                    .map(|i| i.hash)
                        == Some(version.hash) => {}
                _ => problems.push(format!("{id}: sync index row missing or stale")),
            }
            match self.watermark(&r.publisher)? {
                Some(w) if w >= r.seq => {}
                _ => problems.push(format!("{id}: publisher watermark below seq {}", r.seq)),
            }
        }
        let blobs = self.prefix_count(&[keys::BLOB]);
        let syncs = self.prefix_count(&[keys::SYNC]);
        if blobs != current || syncs != current {
            problems.push(format!(
                "{current} current versions but {blobs} record blobs and {syncs} sync rows"
            ));
        }
        let legacy = self.prefix_count(&[keys::LEGACY_INDEX]);
        if legacy > 0 {
            problems.push(format!(
                "{legacy} secondary-index rows of store format 1 left in a format-{STORE_FORMAT} store"
            ));
        }
        match self.tree.get(FORMAT_KEY)? {
            Some(v) if v.as_ref() == STORE_FORMAT.to_string().as_bytes() => {}
            other => problems.push(format!(
                "store format marker is {:?}, expected {STORE_FORMAT}",
                other.map(|v| String::from_utf8_lossy(&v).into_owned())
            )),
        }
        Ok(problems)
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
            removed.push(id);
        }
        if !removed.is_empty() {
            self.tree.apply_batch(batch)?;
            self.db.flush()?;
        }
        Ok(removed)
    }
}
