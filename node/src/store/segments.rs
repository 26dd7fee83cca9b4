//! Record bytes of store formats 3 and 4: append-only segment files in `records/`
//! inside the store dir, named `NNNNNNNN.seg` (decimal, from 1). Each entry is framed
//! as length (u32 LE) ‖ CRC-32 of the record bytes (u32 LE) ‖ the record bytes; the
//! index keeps only each record's [`Location`].
//!
//! Durability: a batch's bytes are written at the active segment's end and fsynced
//! *before* the index changes that reference them are committed (format 4: the index
//! log frame, which also records the new [`SegmentEnd`]; format 3: a sled batch). So
//! after a crash the active segment can only hold unreferenced bytes past that end (a
//! torn or never-committed tail), and opening truncates it back ([`Segments::open`]).
//! Segment files are never rewritten: the bytes of superseded or purged versions stay
//! as garbage until a segment compaction (future work).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::StoreError;

/// Size at which the active segment is closed and the next batch starts a new one.
pub const SEGMENT_BOUND: u64 = 64 * 1024 * 1024;
/// Bytes of the frame before each record: length and CRC-32.
pub const FRAME: u64 = 8;
/// Largest record a frame may hold (a sanity bound for reads; records are far smaller).
const MAX_RECORD: u32 = 64 * 1024 * 1024;
/// Read handles kept open (one per segment read recently).
const OPEN_HANDLES: usize = 16;
/// Name of the folder of segment files inside the store dir.
pub const DIR: &str = "records";

/// Where one record's bytes are: segment number, offset of its frame, record length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub segment: u32,
    pub offset: u64,
    pub len: u32,
}

impl Location {
    pub const ENCODED: usize = 16;

    pub fn encode(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..4].copy_from_slice(&self.segment.to_be_bytes());
        out[4..12].copy_from_slice(&self.offset.to_be_bytes());
        out[12..].copy_from_slice(&self.len.to_be_bytes());
        out
    }

    pub fn decode(v: &[u8]) -> Option<Location> {
        if v.len() != Self::ENCODED {
            return None;
        }
        Some(Location {
            segment: u32::from_be_bytes(v[..4].try_into().ok()?),
            offset: u64::from_be_bytes(v[4..12].try_into().ok()?),
            len: u32::from_be_bytes(v[12..].try_into().ok()?),
        })
    }

    /// Offset just past this record's frame.
    pub fn end(&self) -> u64 {
        self.offset + FRAME + u64::from(self.len)
    }
}

/// The durable end of the segment files: the active segment and how many of its bytes
/// the index may reference (committed with the index changes that reference them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentEnd {
    pub segment: u32,
    pub end: u64,
}

impl SegmentEnd {
    pub fn encode(&self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..4].copy_from_slice(&self.segment.to_be_bytes());
        out[4..].copy_from_slice(&self.end.to_be_bytes());
        out
    }

    pub fn decode(v: &[u8]) -> Option<SegmentEnd> {
        if v.len() != 12 {
            return None;
        }
        Some(SegmentEnd {
            segment: u32::from_be_bytes(v[..4].try_into().ok()?),
            end: u64::from_be_bytes(v[4..].try_into().ok()?),
        })
    }
}

/// What opening found past the referenced end (logged; nothing acknowledged is in it).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Unreferenced bytes cut from the active segment's tail.
    pub truncated_bytes: u64,
    /// Segment files after the active one (never referenced) that were deleted.
    pub removed_files: u32,
}

struct Active {
    number: u32,
    file: File,
    end: u64,
}

/// A batch being framed in memory: where its records will be, and its bytes.
pub struct Append {
    segment: u32,
    start: u64,
    buf: Vec<u8>,
}

impl Append {
    /// Frame `bytes` and return where they will be once [`Segments::commit`] succeeds.
    pub fn push(&mut self, bytes: &[u8]) -> Location {
        let loc = Location {
            segment: self.segment,
            offset: self.start + self.buf.len() as u64,
            len: bytes.len() as u32,
        };
        self.buf
            .extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        self.buf
            .extend_from_slice(&crc32fast::hash(bytes).to_le_bytes());
        self.buf.extend_from_slice(bytes);
        loc
    }

    /// The segment end once this batch is written (the row to store with it).
    pub fn end(&self) -> SegmentEnd {
        SegmentEnd {
            segment: self.segment,
            end: self.start + self.buf.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

pub struct Segments {
    dir: PathBuf,
    /// Written only by the store's single writer (its write mutex), one batch at a time.
    active: Mutex<Active>,
    readers: Mutex<HashMap<u32, Arc<File>>>,
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> StoreError {
    StoreError::Io {
        what: format!("{what} {}", path.display()),
        source: e,
    }
}

fn corrupt(what: String, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: detail.to_string(),
    }
}

pub fn file_name(number: u32) -> String {
    format!("{number:08}.seg")
}

/// Segment files in `dir`: (number, length), by number.
pub fn list(dir: &Path) -> Result<Vec<(u32, u64)>, StoreError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_err(dir, "reading the segment folder", e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_err(dir, "reading the segment folder", e))?;
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".seg"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let len = entry
            .metadata()
            .map_err(|e| io_err(&entry.path(), "reading the length of", e))?
            .len();
        out.push((number, len));
    }
    out.sort_unstable();
    Ok(out)
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, "syncing the segment folder", e))
}

impl Segments {
    /// Open the segment files of the store at `store_dir`, given the durable end that
    /// the index holds (`None`: nothing references any segment yet). Bytes past that end
    /// are cut off and later segment files deleted; a referenced end beyond a file's
    /// length means acknowledged bytes are missing, and is refused.
    pub fn open(
        store_dir: &Path,
        referenced: Option<SegmentEnd>,
    ) -> Result<(Segments, Recovered), StoreError> {
        let dir = store_dir.join(DIR);
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, "creating", e))?;
        let want = referenced.unwrap_or(SegmentEnd { segment: 1, end: 0 });
        let mut recovered = Recovered::default();
        let mut active_len = None;
        for (number, len) in list(&dir)? {
            let path = dir.join(file_name(number));
            if number == want.segment {
                active_len = Some(len);
            } else if number > want.segment {
                std::fs::remove_file(&path).map_err(|e| io_err(&path, "removing", e))?;
                recovered.removed_files += 1;
                recovered.truncated_bytes += len;
            }
        }
        let path = dir.join(file_name(want.segment));
        match active_len {
            Some(len) if len < want.end => {
                return Err(corrupt(
                    format!("segment {}", path.display()),
                    format!(
                        "it holds {len} bytes but the store references {} (acknowledged records are missing)",
                        want.end
                    ),
                ))
            }
            None if want.end > 0 => {
                return Err(corrupt(
                    format!("segment {}", path.display()),
                    format!("missing, but the store references {} bytes of it", want.end),
                ))
            }
            _ => {}
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_err(&path, "opening", e))?;
        if let Some(len) = active_len.filter(|l| *l > want.end) {
            file.set_len(want.end)
                .and_then(|_| file.sync_all())
                .map_err(|e| io_err(&path, "truncating the unreferenced tail of", e))?;
            recovered.truncated_bytes += len - want.end;
        }
        if active_len.is_none() || recovered.removed_files > 0 {
            sync_dir(&dir)?;
        }
        Ok((
            Segments {
                dir,
                active: Mutex::new(Active {
                    number: want.segment,
                    file,
                    end: want.end,
                }),
                readers: Mutex::new(HashMap::new()),
            },
            recovered,
        ))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Start framing a batch; rolls to a new segment file first when the active one
    /// has reached [`SEGMENT_BOUND`]. Call under the store's write lock.
    pub fn begin(&self) -> Result<Append, StoreError> {
        let mut a = self.active.lock().unwrap_or_else(|p| p.into_inner());
        if a.end >= SEGMENT_BOUND {
            let number = a.number + 1;
            let path = self.dir.join(file_name(number));
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .map_err(|e| io_err(&path, "creating", e))?;
            sync_dir(&self.dir)?;
            *a = Active {
                number,
                file,
                end: 0,
            };
        }
        Ok(Append {
            segment: a.number,
            start: a.end,
            buf: Vec::new(),
        })
    }

    /// Write a framed batch at the active end and fsync it. On failure the file is cut
    /// back to where it was, so a later batch starts from a clean end.
    pub fn commit(&self, batch: Append) -> Result<(), StoreError> {
        if batch.buf.is_empty() {
            return Ok(());
        }
        let mut a = self.active.lock().unwrap_or_else(|p| p.into_inner());
        if a.number != batch.segment || a.end != batch.start {
            return Err(corrupt(
                "segment append".into(),
                format!(
                    "batch framed for segment {} at {} but the active end is segment {} at {}",
                    batch.segment, batch.start, a.number, a.end
                ),
            ));
        }
        let path = self.dir.join(file_name(a.number));
        let written = a
            .file
            .write_all_at(&batch.buf, a.end)
            .and_then(|_| a.file.sync_data());
        if let Err(e) = written {
            let _ = a.file.set_len(a.end);
            return Err(io_err(&path, "appending records to", e));
        }
        a.end += batch.buf.len() as u64;
        Ok(())
    }

    fn reader(&self, segment: u32) -> Result<Arc<File>, StoreError> {
        let mut readers = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = readers.get(&segment) {
            return Ok(f.clone());
        }
        let path = self.dir.join(file_name(segment));
        let file = Arc::new(File::open(&path).map_err(|e| io_err(&path, "opening", e))?);
        if readers.len() >= OPEN_HANDLES {
            // Any one goes: a reader still using it holds its own Arc.
            if let Some(k) = readers.keys().next().copied() {
                readers.remove(&k);
            }
        }
        readers.insert(segment, file.clone());
        Ok(file)
    }

    /// The record bytes at `loc`, checked against their frame (length and CRC-32).
    pub fn read(&self, loc: &Location) -> Result<Vec<u8>, StoreError> {
        let what = || format!("record at segment {} offset {}", loc.segment, loc.offset);
        if loc.len > MAX_RECORD {
            return Err(corrupt(what(), format!("length {} too large", loc.len)));
        }
        let file = self.reader(loc.segment)?;
        let mut buf = vec![0u8; FRAME as usize + loc.len as usize];
        file.read_exact_at(&mut buf, loc.offset).map_err(|e| {
            corrupt(
                what(),
                format!("{} (segment {})", e, file_name(loc.segment)),
            )
        })?;
        let len = u32::from_le_bytes(buf[..4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(buf[4..8].try_into().expect("4 bytes"));
        if len != loc.len {
            return Err(corrupt(
                what(),
                format!("frame says {len} bytes, the index {}", loc.len),
            ));
        }
        let bytes = buf.split_off(FRAME as usize);
        if crc32fast::hash(&bytes) != crc {
            return Err(corrupt(what(), "CRC-32 mismatch"));
        }
        Ok(bytes)
    }
}
