//! The store (format 4, see `keys.rs`): record bytes in append-only segment files
//! (`segments.rs`), one in-memory row per current version (`memindex.rs`) made durable
//! by an append-only index log (`indexlog.rs`), and a small sled tree for the format
//! marker and equivocation evidence. Writes are serialised by a mutex; a batch's
//! record bytes are appended and fsynced, then its index frame is appended and fsynced
//! (the commit point), then the in-memory index changes, then `apply` returns.
//! Opening replays the index log and cuts the segments back to the end its last
//! frame names; older formats are migrated (`format.rs`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard};

use sha2::{Digest, Sha256};

use super::format::{self, Marker};
use super::indexlog::{self, IndexLog};
use super::keys::{self, index_keys, key, SyncItem};
use super::memindex::{scope_byte, Change, MemIndex, Row};
use super::segments::{SegmentEnd, Segments};
use super::{Applied, ApplyOutcome, Counts, Evidence, IndexKey, ListFilter, Store, StoreError};
use techmesh_protocol::record::{Identity, PublicKey, Record, RecordHash};
use techmesh_protocol::version::Version;
use techmesh_protocol::Kind;

/// Log segment size of new sled databases (sled keeps little since format 4: the
/// marker and equivocation evidence).
pub const SEGMENT_SIZE: usize = 8 * 1024 * 1024;

/// The index log is compacted when it is larger than this and than twice what the
/// live index would be written as.
pub const COMPACT_MIN_BYTES: u64 = 64 * 1024 * 1024;

pub struct SledStore {
    dir: PathBuf,
    pub(super) db: sled::Db,
    pub(super) tree: sled::Tree,
    pub(super) segments: Segments,
    pub(super) log: IndexLog,
    pub(super) index: RwLock<MemIndex>,
    writer: Mutex<()>,
    /// [`COMPACT_MIN_BYTES`] (tests lower it).
    pub(super) compact_min: AtomicU64,
}

pub(super) fn corrupt(what: &str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        detail: detail.to_string(),
    }
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

    /// Open (or create) the store at `path` with a sled page cache of `cache_mb` MiB.
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
        let log_exists = indexlog::log_path(path).exists();
        // A complete index log exists for a format-4 store, and for a format-3 store
        // whose migration was interrupted after the log was renamed into place.
        let has_log = match marker {
            Marker::Current if !log_exists => {
                return Err(StoreError::Format {
                    path: path.display().to_string(),
                    detail: format!(
                        "format 4 but its index log {} is missing",
                        indexlog::log_path(path).display()
                    ),
                })
            }
            Marker::Current => true,
            Marker::Three => log_exists,
            Marker::Two | Marker::Missing => false,
        };
        let segments = if has_log {
            None
        } else {
            format::discard_index_log(path)?;
            let segments = open_segments(path, format::legacy_segment_end(&tree)?)?;
            if marker != Marker::Three {
                format::migrate_to_3(&db, &tree, &segments, path, marker)?;
            }
            format::build_index_log(&tree, path)?;
            Some(segments)
        };
        let (log, index, replayed) = IndexLog::open(path)?;
        if replayed.cut_bytes > 0 {
            tracing::warn!(
                store = %path.display(),
                bytes = replayed.cut_bytes,
                "store opened after an interrupted write: a torn index-log tail cut off (no batch in it was acknowledged)"
            );
        }
        let segments = match segments {
            Some(s) => s,
            None => open_segments(path, index.segment_end())?,
        };
        let store = SledStore {
            dir: path.to_path_buf(),
            db,
            tree,
            segments,
            log,
            index: RwLock::new(index),
            writer: Mutex::new(()),
            compact_min: AtomicU64::new(COMPACT_MIN_BYTES),
        };
        if marker != Marker::Current {
            format::finish_4(&store.db, &store.tree, path, marker)?;
        }
        Ok(store)
    }

    pub(super) fn index(&self) -> RwLockReadGuard<'_, MemIndex> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn decode(&self, bytes: &[u8]) -> Result<Record, StoreError> {
        Record::decode_trusted(bytes).map_err(|e| corrupt("record", e))
    }

    /// The record of `row`, read from its segment and checked against the row.
    pub(super) fn read_row(&self, row: &Row) -> Result<Record, StoreError> {
        let r = self.decode(&self.segments.read(&row.location())?)?;
        if r.hash().0 != row.hash || keys::identity_digest(&r.identity().key()) != row.digest {
            return Err(corrupt(
                &format!("record at segment {} offset {}", row.segment, row.offset),
                format!(
                    "it is {} ({}), but the index row is of identity digest {} and hash {}",
                    r.identity(),
                    r.hash(),
                    hex::encode(row.digest),
                    hex::encode(row.hash)
                ),
            ));
        }
        Ok(r)
    }

    /// Count the current versions by kind from the index rows.
    #[cfg(test)]
    pub(super) fn recount(&self) -> Result<Counts, StoreError> {
        Ok(self.index().recount())
    }

    /// Commit a batch's changes: the index frame (fsynced: the commit point), then
    /// the in-memory index; then compact the log if it has grown past twice the live
    /// index. Call under the write lock.
    fn commit_changes(&self, changes: &[Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.log.append(changes)?;
        {
            let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
            for c in changes {
                index
                    .apply(c)
                    .map_err(|e| corrupt("index change", format!("{e} (in {c:?})")))?;
            }
        }
        let index = self.index();
        let (len, live) = (self.log.len(), index.snapshot_bytes());
        if len > self.compact_min.load(Ordering::Relaxed).max(2 * live) {
            // The batch is committed either way: a failed compaction leaves the old log.
            match self.log.compact(&self.dir, &index) {
                Ok(new) => tracing::info!(
                    store = %self.dir.display(),
                    before = len,
                    after = new,
                    "index log compacted"
                ),
                Err(e) => tracing::warn!(
                    store = %self.dir.display(),
                    error = %e,
                    "index log compaction failed; the previous log stays in use"
                ),
            }
        }
        Ok(())
    }
}

fn open_segments(path: &Path, referenced: Option<SegmentEnd>) -> Result<Segments, StoreError> {
    let (segments, recovered) = Segments::open(path, referenced)?;
    if recovered != Default::default() {
        tracing::warn!(
            store = %path.display(),
            bytes = recovered.truncated_bytes,
            files = recovered.removed_files,
            "store opened after an interrupted write: unacknowledged record bytes past the last committed batch cut off"
        );
    }
    Ok(segments)
}

/// State of identities, seqs and publishers touched earlier in the same batch.
#[derive(Default)]
struct Pending {
    /// Identity digest → new current version, the index of its record in the batch.
    current: HashMap<[u8; 16], (Version, usize)>,
    seqs: HashMap<(PublicKey, u64), RecordHash>,
    watermarks: HashMap<PublicKey, u64>,
    /// Publishers whose watermark this batch raises (one change each, at the end).
    raised: HashMap<PublicKey, u32>,
    publishers: HashMap<PublicKey, u32>,
}

impl Store for SledStore {
    fn apply(&self, records: &[Record]) -> Result<Vec<ApplyOutcome>, StoreError> {
        let _guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut evidence = sled::Batch::default();
        let mut has_evidence = false;
        let mut pending = Pending::default();
        let mut changes = Vec::with_capacity(records.len() * 2 + 2);
        let mut out = Vec::with_capacity(records.len());
        let mut append = self.segments.begin()?;
        // Only this writer changes the index, so what it reads here stays true
        // until its own changes are applied below.
        let index = self.index();
        for (at, r) in records.iter().enumerate() {
            let digest = keys::identity_digest(&r.identity().key());
            let new = Version::of(r);
            let hash = r.hash();
            let known = index.publisher_id(&r.publisher);
            let publisher = match known.or_else(|| pending.publishers.get(&r.publisher).copied()) {
                Some(p) => p,
                None => {
                    let p = index.publisher_count() + pending.publishers.len() as u32;
                    pending.publishers.insert(r.publisher, p);
                    changes.push(Change::Publisher(r.publisher));
                    p
                }
            };
            // Equivocation: another record under this (publisher, seq)?
            let seq_key = (r.publisher, r.seq);
            let seen = match pending.seqs.get(&seq_key) {
                Some(h) => Some(*h),
                None => known.and_then(|p| index.seq_hash(p, r.seq)).map(RecordHash),
            };
            let equivocation_with = seen.filter(|h| *h != hash);
            if let Some(other) = equivocation_with {
                let evidence_key = |h: &RecordHash| {
                    key(
                        keys::EVIDENCE,
                        &[&r.publisher.0, &r.seq.to_be_bytes(), &h.0],
                    )
                };
                evidence.insert(evidence_key(&hash), r.bytes());
                let other_bytes = match pending.current.values().find(|(v, _)| v.hash == other) {
                    Some((_, i)) => Some(records[*i].bytes().to_vec()),
                    None => match index.row_by_hash(&other) {
                        Some(row) => Some(self.segments.read(&row.location())?),
                        None => None,
                    },
                };
                if let Some(b) = other_bytes {
                    evidence.insert(evidence_key(&other), b);
                }
                has_evidence = true;
            }
            let first_of_seq = seen.is_none();
            if first_of_seq {
                pending.seqs.insert(seq_key, hash);
            }
            // Watermark.
            let wm = match pending.watermarks.get(&r.publisher) {
                Some(w) => Some(*w),
                None => known.and_then(|p| index.watermark(p)),
            };
            if wm.is_none_or(|w| r.seq > w) {
                pending.watermarks.insert(r.publisher, r.seq);
                pending.raised.insert(r.publisher, publisher);
            }
            // Version order.
            let previous = match pending.current.get(&digest) {
                Some((v, _)) => Some(*v),
                None => index.row_by_digest(&digest).map(|row| Version {
                    seq: row.seq,
                    hash: RecordHash(row.hash),
                }),
            };
            let applied = match &previous {
                Some(v) if v.hash == new.hash => Applied::Duplicate,
                Some(v) if !new.supersedes(v) => Applied::Stale { current: v.hash },
                Some(v) => Applied::Replaced { previous: v.hash },
                None => Applied::Inserted,
            };
            if applied.is_new() {
                let loc = append.push(r.bytes());
                let row = Row {
                    digest,
                    hash: hash.0,
                    seq: r.seq,
                    offset: loc.offset,
                    segment: loc.segment,
                    len: loc.len,
                    publisher,
                    kind: r.identity().kind.tag(),
                    scope: scope_byte(r.body.scope()),
                    tombstone: r.is_tombstone(),
                };
                // A seq entry of a current version points at its row: after the put.
                changes.push(if first_of_seq {
                    Change::PutSeq(row)
                } else {
                    Change::Put(row)
                });
                pending.current.insert(digest, (new, at));
            } else if first_of_seq {
                changes.push(Change::Seq {
                    publisher,
                    seq: r.seq,
                    hash: hash.0,
                });
            }
            out.push(ApplyOutcome {
                applied,
                equivocation_with,
            });
        }
        drop(index);
        for (key, publisher) in &pending.raised {
            changes.push(Change::Watermark {
                publisher: *publisher,
                seq: pending.watermarks[key],
            });
        }
        if !append.is_empty() {
            changes.push(Change::SegmentEnd(append.end()));
        }
        // Evidence is true whether or not the batch commits: written first.
        if has_evidence {
            self.tree.apply_batch(evidence)?;
            self.db.flush()?;
        }
        // Bytes durable first: a crash after this leaves only an unreferenced tail.
        self.segments.commit(append)?;
        self.commit_changes(&changes)?;
        Ok(out)
    }

    fn get(&self, id: &Identity) -> Result<Option<Record>, StoreError> {
        let row = self
            .index()
            .row_by_digest(&keys::identity_digest(&id.key()));
        let Some(row) = row else {
            return Ok(None);
        };
        let r = self.read_row(&row)?;
        if r.identity() != *id {
            return Err(corrupt(
                &format!("identity {id}"),
                format!("its index row leads to the record of {}", r.identity()),
            ));
        }
        Ok(Some(r))
    }

    fn get_by_hash(&self, hash: &RecordHash) -> Result<Option<Record>, StoreError> {
        let row = self.index().row_by_hash(hash);
        row.map(|row| self.read_row(&row)).transpose()
    }

    /// Rows are filtered in memory, then read group by group in identity order
    /// (publisher, kind, then local id), so a `limit` stops the reading early.
    fn list(&self, f: &ListFilter) -> Result<Vec<Record>, StoreError> {
        let mut rows: Vec<(PublicKey, Row)> = {
            let index = self.index();
            let publisher = match &f.publisher {
                Some(p) => match index.publisher_id(p) {
                    Some(id) => Some(id),
                    None => return Ok(Vec::new()),
                },
                None => None,
            };
            let want_kind = f.kind.map(Kind::tag);
            index
                .rows()
                .filter(|r| {
                    publisher.is_none_or(|p| p == r.publisher)
                        && want_kind.is_none_or(|k| k == r.kind)
                        && (f.include_tombstones || !r.tombstone)
                })
                .map(|r| (index.publisher_key(r.publisher), *r))
                .collect()
        };
        rows.sort_unstable_by_key(|(p, r)| (*p, r.kind));
        let limit = f.limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for group in rows.chunk_by(|a, b| a.0 == b.0 && a.1.kind == b.1.kind) {
            if out.len() >= limit {
                break;
            }
            let mut records = group
                .iter()
                .map(|(_, row)| self.read_row(row))
                .collect::<Result<Vec<_>, _>>()?;
            records.sort_by(|a, b| a.identity().local_id.cmp(&b.identity().local_id));
            out.extend(records);
        }
        out.truncate(limit);
        Ok(out)
    }

    /// A scan of every current entry (no secondary-index rows since format 2: nothing
    /// in the node looks records up this way; tools and tests may).
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
        let index = self.index();
        Ok(index
            .publisher_id(publisher)
            .and_then(|p| index.watermark(p)))
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

    /// Running totals kept by the in-memory index: O(1) (`check` recounts).
    fn counts(&self) -> Result<Counts, StoreError> {
        Ok(self.index().counts())
    }

    fn sync_items(&self, prefix: &[u8]) -> Result<Vec<SyncItem>, StoreError> {
        let index = self.index();
        Ok(index.range(prefix).map(|r| index.sync_item(r)).collect())
    }

    fn digest(&self) -> Result<[u8; 32], StoreError> {
        let mut h = Sha256::new();
        for r in self.index().rows() {
            h.update(r.digest);
            h.update(r.hash);
        }
        Ok(h.finalize().into())
    }

    fn check(&self) -> Result<Vec<String>, StoreError> {
        self.problems()
    }

    /// Every batch is durable when it returns (segments and index log fsynced,
    /// evidence flushed); this flushes sled for anything else.
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
        let rows: Vec<Row> = {
            let index = self.index();
            match index.publisher_id(publisher) {
                Some(p) => index.rows().filter(|r| r.publisher == p).copied().collect(),
                None => return Ok(Vec::new()),
            }
        };
        let mut candidates = rows
            .iter()
            .map(|row| Ok((self.read_row(row)?, row.digest)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Identity order, as `list` returns them.
        candidates.sort_by_cached_key(|(r, _)| r.identity().key());
        let mut removed = Vec::new();
        let mut changes = Vec::new();
        for (r, digest) in candidates {
            if doomed(&r) {
                changes.push(Change::Remove(digest));
                removed.push(r.identity());
            }
        }
        self.commit_changes(&changes)?;
        Ok(removed)
    }
}
