//! The store format marker and the migrations of older formats on open (what each
//! format holds: `keys.rs`). Every migration step is idempotent and committed in
//! flushed batches, and the marker is written last, so an interrupted migration simply
//! runs again at the next open.

use std::path::Path;

use super::keys::{self, COUNTS_KEY, FORMAT_KEY, SEGMENT_END_KEY, STORE_FORMAT};
use super::segments::Location;
use super::sled_store::SledStore;
use super::StoreError;

/// Rows deleted per batch when dropping format 1's secondary-index rows.
const DELETE_BATCH: u64 = 10_000;
/// Records moved per batch from sled rows into segment files (~6 MiB of bytes).
const MOVE_BATCH: usize = 5_000;

/// What the format marker of a store says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// [`STORE_FORMAT`]: nothing to do.
    Current,
    /// Format 2: record bytes still in sled rows.
    Two,
    /// No marker: a new store or format 1 (records in sled, `i` index rows).
    Missing,
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

/// Bring a format-1 or format-2 store (or a new one) to [`STORE_FORMAT`]: delete
/// format 1's `i` rows, move record bytes from `h` rows into segment files (a row whose
/// value is already a location was moved by an earlier, interrupted run), write the
/// running totals, then the marker.
pub fn migrate(store: &SledStore, path: &Path, from: Marker) -> Result<(), StoreError> {
    let tree = &store.tree;
    let mut batch = sled::Batch::default();
    let mut legacy = 0u64;
    for row in tree.scan_prefix([keys::LEGACY_INDEX]) {
        let (k, _) = row?;
        batch.remove(k);
        legacy += 1;
        if legacy.is_multiple_of(DELETE_BATCH) {
            tree.apply_batch(std::mem::take(&mut batch))?;
        }
    }
    tree.apply_batch(batch)?;
    store.db.flush()?;

    let mut moved = 0u64;
    let mut chunk: Vec<(sled::IVec, sled::IVec)> = Vec::with_capacity(MOVE_BATCH);
    for row in tree.scan_prefix([keys::BLOB]) {
        let (k, v) = row?;
        if v.len() == Location::ENCODED {
            continue;
        }
        chunk.push((k, v));
        if chunk.len() >= MOVE_BATCH {
            moved += move_to_segments(store, &mut chunk)?;
        }
    }
    moved += move_to_segments(store, &mut chunk)?;

    let counts = store.recount()?;
    tree.insert(COUNTS_KEY, keys::encode_counts(&counts))?;
    store.db.flush()?;
    tree.insert(FORMAT_KEY, STORE_FORMAT.to_string().as_bytes())?;
    store.db.flush()?;
    if legacy > 0 || moved > 0 || from == Marker::Two {
        tracing::info!(
            store = %path.display(),
            from = if from == Marker::Two { "2" } else { "1" },
            index_rows_deleted = legacy,
            records_moved = moved,
            "store migrated to format {STORE_FORMAT}: record bytes now in segment files"
        );
    }
    Ok(())
}

/// Append the chunk's record bytes to the active segment, fsync, then point their `h`
/// rows at them (with the new segment end) in one flushed sled batch.
fn move_to_segments(
    store: &SledStore,
    chunk: &mut Vec<(sled::IVec, sled::IVec)>,
) -> Result<u64, StoreError> {
    if chunk.is_empty() {
        return Ok(0);
    }
    let mut append = store.segments.begin()?;
    let mut batch = sled::Batch::default();
    for (k, bytes) in chunk.iter() {
        let loc = append.push(bytes);
        batch.insert(k.clone(), &loc.encode()[..]);
    }
    batch.insert(SEGMENT_END_KEY, &append.end().encode()[..]);
    store.segments.commit(append)?;
    store.tree.apply_batch(batch)?;
    store.db.flush()?;
    let n = chunk.len() as u64;
    chunk.clear();
    Ok(n)
}
