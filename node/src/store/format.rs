//! The store format marker and the migrations of older formats on open (what each
//! format holds: `keys.rs`). Formats 1 and 2 are first brought to format 3 (record
//! bytes into segment files), then format 3 to format 4 (sled's per-record rows into
//! the index log). Every step is idempotent and the marker is written last, so an
//! interrupted migration simply runs again at the next open:
//! - 1/2 → 3: format 1's `i` rows deleted and record bytes moved in flushed batches
//!   (a row whose value is already a location was moved by an earlier run);
//! - 3 → 4: the index log is built from the `c`/`h`/`y`/`s`/`w` rows as
//!   `index.log.building` and renamed into place only once complete and fsynced (a
//!   half-built one is discarded and rebuilt); only then are those rows deleted, and
//!   the marker written. A format-3 store with a complete index log resumes at the
//!   deletion.

use std::collections::HashMap;
use std::path::Path;

use super::indexlog::{self, LogBuilder};
use super::keys::{self, key, FORMAT_KEY, SEGMENT_END_KEY, STORE_FORMAT};
use super::memindex::{Change, Row};
use super::segments::{Location, SegmentEnd, Segments};
use super::sled_store::corrupt;
use super::StoreError;
use techmesh_protocol::record::PublicKey;

/// Rows deleted per batch when dropping rows of older formats.
const DELETE_BATCH: u64 = 10_000;
/// Records moved per batch from sled rows into segment files (~6 MiB of bytes).
const MOVE_BATCH: usize = 5_000;
/// Changes per index-log frame written by the 3 → 4 migration.
const BUILD_FRAME: usize = 10_000;

/// What the format marker of a store says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// [`STORE_FORMAT`]: nothing to do.
    Current,
    /// Format 3: per-record rows in sled, record bytes in segment files.
    Three,
    /// Format 2: record bytes still in sled rows.
    Two,
    /// No marker: a new store or format 1 (records in sled, `i` index rows).
    Missing,
}

impl Marker {
    fn name(self) -> &'static str {
        match self {
            Marker::Current => "4",
            Marker::Three => "3",
            Marker::Two => "2",
            Marker::Missing => "1 (or new)",
        }
    }
}

/// Read the marker; an unknown format is refused before anything is touched.
pub fn read_marker(tree: &sled::Tree, path: &Path) -> Result<Marker, StoreError> {
    let Some(v) = tree.get(FORMAT_KEY)? else {
        return Ok(Marker::Missing);
    };
    let found = std::str::from_utf8(&v)
        .ok()
        .and_then(|s| s.parse::<u32>().ok());
    match found {
        Some(STORE_FORMAT) => Ok(Marker::Current),
        Some(3) => Ok(Marker::Three),
        Some(2) => Ok(Marker::Two),
        _ => {
            let shown = found.map_or_else(
                || format!("{:?}", String::from_utf8_lossy(&v)),
                |f| f.to_string(),
            );
            Err(StoreError::Format {
                path: path.display().to_string(),
                detail: format!(
                    "it has format {shown} and this techmesh reads formats 1 to {STORE_FORMAT} \
                     (a newer techmesh wrote it? rebuild it by syncing from peers into an empty data dir)"
                ),
            })
        }
    }
}

/// The segment end row of formats 2 and 3 (`None`: no segment referenced yet).
pub fn legacy_segment_end(tree: &sled::Tree) -> Result<Option<SegmentEnd>, StoreError> {
    tree.get(SEGMENT_END_KEY)?
        .map(|v| SegmentEnd::decode(&v).ok_or_else(|| corrupt("segment end", hex::encode(&v))))
        .transpose()
}

/// Remove an index log left by an interrupted migration (before rebuilding it).
pub fn discard_index_log(path: &Path) -> Result<(), StoreError> {
    let dir = path.join(indexlog::DIR);
    for name in [indexlog::FILE, indexlog::BUILDING] {
        let p = dir.join(name);
        match std::fs::remove_file(&p) {
            Ok(()) => tracing::info!(file = %p.display(), "discarded an unfinished index log"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StoreError::Io {
                    what: format!("removing {}", p.display()),
                    source: e,
                })
            }
        }
    }
    Ok(())
}

/// Bring a format-1 or format-2 store (or a new one) to format 3: delete format 1's
/// `i` rows, move record bytes from `h` rows into segment files, then write marker 3.
pub fn migrate_to_3(
    db: &sled::Db,
    tree: &sled::Tree,
    segments: &Segments,
    path: &Path,
    from: Marker,
) -> Result<(), StoreError> {
    let legacy = delete_prefixes(db, tree, &[keys::LEGACY_INDEX])?;
    let mut moved = 0u64;
    let mut chunk: Vec<(sled::IVec, sled::IVec)> = Vec::with_capacity(MOVE_BATCH);
    for row in tree.scan_prefix([keys::BLOB]) {
        let (k, v) = row?;
        if v.len() == Location::ENCODED {
            continue;
        }
        chunk.push((k, v));
        if chunk.len() >= MOVE_BATCH {
            moved += move_to_segments(db, tree, segments, &mut chunk)?;
        }
    }
    moved += move_to_segments(db, tree, segments, &mut chunk)?;
    tree.insert(FORMAT_KEY, &b"3"[..])?;
    db.flush()?;
    if legacy > 0 || moved > 0 {
        tracing::info!(
            store = %path.display(),
            from = from.name(),
            index_rows_deleted = legacy,
            records_moved = moved,
            "store migrated to format 3: record bytes now in segment files"
        );
    }
    Ok(())
}

/// Append the chunk's record bytes to the active segment, fsync, then point their `h`
/// rows at them (with the new segment end) in one flushed sled batch.
fn move_to_segments(
    db: &sled::Db,
    tree: &sled::Tree,
    segments: &Segments,
    chunk: &mut Vec<(sled::IVec, sled::IVec)>,
) -> Result<u64, StoreError> {
    if chunk.is_empty() {
        return Ok(0);
    }
    let mut append = segments.begin()?;
    let mut batch = sled::Batch::default();
    for (k, bytes) in chunk.iter() {
        let loc = append.push(bytes);
        batch.insert(k.clone(), &loc.encode()[..]);
    }
    batch.insert(SEGMENT_END_KEY, &append.end().encode()[..]);
    segments.commit(append)?;
    tree.apply_batch(batch)?;
    db.flush()?;
    let n = chunk.len() as u64;
    chunk.clear();
    Ok(n)
}

/// Interns publishers in first-seen order, emitting the `Publisher` change.
#[derive(Default)]
struct Interner(HashMap<PublicKey, u32>);

impl Interner {
    fn id(&mut self, key: PublicKey, frame: &mut Vec<Change>) -> u32 {
        let next = self.0.len() as u32;
        *self.0.entry(key).or_insert_with(|| {
            frame.push(Change::Publisher(key));
            next
        })
    }
}

fn fixed<const N: usize>(v: &[u8], what: &str) -> Result<[u8; N], StoreError> {
    v.try_into()
        .map_err(|_| corrupt(what, format!("{} bytes, expected {N}", v.len())))
}

/// Write the index log of a format-3 store from its sled rows: every current version
/// (`c` with its `h` location and `y` sync row), then every seq row, every watermark
/// and the segment end.
pub fn build_index_log(tree: &sled::Tree, path: &Path) -> Result<(), StoreError> {
    let mut log = LogBuilder::new(path, indexlog::BUILDING)?;
    let mut ids = Interner::default();
    let mut frame = Vec::with_capacity(BUILD_FRAME + 8);
    let mut flush = |frame: &mut Vec<Change>, force: bool| -> Result<(), StoreError> {
        if force || frame.len() >= BUILD_FRAME {
            log.frame(frame)?;
            frame.clear();
        }
        Ok(())
    };
    for row in tree.scan_prefix([keys::CURRENT]) {
        let (k, v) = row?;
        let id_key = &k[1..];
        let what = || format!("current version {}", hex::encode(id_key));
        if id_key.len() < 33 || v.len() != 40 {
            return Err(corrupt(&what(), "short row"));
        }
        let publisher = PublicKey(fixed(&id_key[..32], &what())?);
        let seq = u64::from_be_bytes(fixed(&v[..8], &what())?);
        let hash: [u8; 32] = fixed(&v[8..40], &what())?;
        let digest = keys::identity_digest(id_key);
        let loc = tree
            .get(key(keys::BLOB, &[&hash]))?
            .and_then(|l| Location::decode(&l))
            .ok_or_else(|| corrupt(&what(), "no record location row"))?;
        let sync_key = key(keys::SYNC, &[&digest]);
        let item = tree
            .get(&sync_key)?
            .and_then(|s| keys::SyncItem::decode(&sync_key, &s))
            .ok_or_else(|| corrupt(&what(), "no sync row"))?;
        let publisher = ids.id(publisher, &mut frame);
        frame.push(Change::Put(Row {
            digest,
            hash,
            seq,
            offset: loc.offset,
            segment: loc.segment,
            len: loc.len,
            publisher,
            kind: id_key[32],
            scope: super::memindex::scope_byte(item.scope),
            tombstone: item.tombstone,
        }));
        flush(&mut frame, false)?;
    }
    for row in tree.scan_prefix([keys::SEQ]) {
        let (k, v) = row?;
        let what = || format!("seq row {}", hex::encode(&k));
        if k.len() != 41 {
            return Err(corrupt(&what(), "key length"));
        }
        let publisher = ids.id(PublicKey(fixed(&k[1..33], &what())?), &mut frame);
        frame.push(Change::Seq {
            publisher,
            seq: u64::from_be_bytes(fixed(&k[33..41], &what())?),
            hash: fixed(&v, &what())?,
        });
        flush(&mut frame, false)?;
    }
    for row in tree.scan_prefix([keys::WATERMARK]) {
        let (k, v) = row?;
        let what = || format!("watermark row {}", hex::encode(&k));
        let publisher = ids.id(PublicKey(fixed(&k[1..], &what())?), &mut frame);
        frame.push(Change::Watermark {
            publisher,
            seq: u64::from_be_bytes(fixed(&v, &what())?),
        });
        flush(&mut frame, false)?;
    }
    if let Some(end) = legacy_segment_end(tree)? {
        frame.push(Change::SegmentEnd(end));
    }
    flush(&mut frame, true)?;
    log.finish().map(|_| ())
}

/// Delete every row under the given prefixes in flushed batches: how many.
fn delete_prefixes(db: &sled::Db, tree: &sled::Tree, prefixes: &[u8]) -> Result<u64, StoreError> {
    let mut deleted = 0u64;
    for p in prefixes {
        let mut batch = sled::Batch::default();
        for row in tree.scan_prefix([*p]) {
            let (k, _) = row?;
            batch.remove(k);
            deleted += 1;
            if deleted.is_multiple_of(DELETE_BATCH) {
                tree.apply_batch(std::mem::take(&mut batch))?;
            }
        }
        tree.apply_batch(batch)?;
    }
    db.flush()?;
    Ok(deleted)
}

/// Rows the index log replaces (format 3) and older leftovers: deleted by
/// [`finish_4`], reported by `check` if any remain.
pub const LEGACY_PREFIXES: [u8; 6] = [
    keys::CURRENT,
    keys::BLOB,
    keys::SYNC,
    keys::SEQ,
    keys::WATERMARK,
    keys::LEGACY_INDEX,
];

/// The index log is complete: delete the rows it replaces, then write marker 4.
pub fn finish_4(
    db: &sled::Db,
    tree: &sled::Tree,
    path: &Path,
    from: Marker,
) -> Result<(), StoreError> {
    let deleted = delete_prefixes(db, tree, &LEGACY_PREFIXES)?;
    tree.remove(keys::COUNTS_KEY)?;
    tree.remove(SEGMENT_END_KEY)?;
    db.flush()?;
    tree.insert(FORMAT_KEY, STORE_FORMAT.to_string().as_bytes())?;
    db.flush()?;
    if deleted > 0 {
        tracing::info!(
            store = %path.display(),
            from = from.name(),
            rows_deleted = deleted,
            "store migrated to format {STORE_FORMAT}: per-record rows now in the index log"
        );
    }
    Ok(())
}
