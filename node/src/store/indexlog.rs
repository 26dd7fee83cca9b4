//! The index log of store format 4: `index/index.log`, an 8-byte magic header then
//! append-only frames, each length (u32 LE) ‖ CRC-32 of the payload (u32 LE) ‖ the
//! payload: every [`Change`] of one `apply`/`purge` batch (or of one migration step),
//! in order. A frame is fsynced before the in-memory index changes: its fsync is the
//! batch's commit point.
//!
//! Opening replays every complete, CRC-valid frame into a [`MemIndex`]; a torn or
//! garbage tail (a batch whose fsync never returned) is cut off. A CRC-valid frame
//! whose changes do not fit the state is corruption, and refused.
//!
//! Change encodings (little-endian integers, a one-byte tag first):
//! `K` publisher (32) · `P` digest (16) hash (32) seq (8) offset (8) segment (4)
//! len (4) publisher id (4) kind (1) scope (1) tombstone (1) · `Q` the same, and the
//! row's version is the first seen under its seq · `R` digest (16) ·
//! `S` publisher id (4) seq (8) hash (32) · `W` publisher id (4) seq (8) ·
//! `E` segment (4) end (8).

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use techmesh_protocol::record::PublicKey;

use super::memindex::{Change, MemIndex, Row};
use super::segments::SegmentEnd;
use super::StoreError;

/// Folder of the index log inside the store dir.
pub const DIR: &str = "index";
pub const FILE: &str = "index.log";
/// A log being built by a migration (renamed to [`FILE`] once complete and fsynced).
pub const BUILDING: &str = "index.log.building";
/// A compacted log being written (renamed over [`FILE`] once complete and fsynced).
pub const COMPACTING: &str = "index.log.compacting";
/// Changes per frame of a compacted log.
const SNAPSHOT_FRAME: usize = 10_000;
const MAGIC: &[u8; 8] = b"TMIDX4\n\0";
const FRAME: usize = 8;
/// Largest frame payload read back (a sanity bound: a purge of 1 M rows is 17 MB).
const MAX_FRAME: u32 = 1 << 30;

fn io_err(path: &Path, what: &str, e: std::io::Error) -> StoreError {
    StoreError::Io {
        what: format!("{what} {}", path.display()),
        source: e,
    }
}

pub fn log_path(store_dir: &Path) -> PathBuf {
    store_dir.join(DIR).join(FILE)
}

pub fn encode(changes: &[Change], out: &mut Vec<u8>) {
    for c in changes {
        match c {
            Change::Publisher(k) => {
                out.push(b'K');
                out.extend_from_slice(&k.0);
            }
            Change::Put(r) | Change::PutSeq(r) => {
                out.push(if matches!(c, Change::Put(_)) {
                    b'P'
                } else {
                    b'Q'
                });
                out.extend_from_slice(&r.digest);
                out.extend_from_slice(&r.hash);
                out.extend_from_slice(&r.seq.to_le_bytes());
                out.extend_from_slice(&r.offset.to_le_bytes());
                out.extend_from_slice(&r.segment.to_le_bytes());
                out.extend_from_slice(&r.len.to_le_bytes());
                out.extend_from_slice(&r.publisher.to_le_bytes());
                out.extend_from_slice(&[r.kind, r.scope, u8::from(r.tombstone)]);
            }
            Change::Remove(d) => {
                out.push(b'R');
                out.extend_from_slice(d);
            }
            Change::Seq {
                publisher,
                seq,
                hash,
            } => {
                out.push(b'S');
                out.extend_from_slice(&publisher.to_le_bytes());
                out.extend_from_slice(&seq.to_le_bytes());
                out.extend_from_slice(hash);
            }
            Change::Watermark { publisher, seq } => {
                out.push(b'W');
                out.extend_from_slice(&publisher.to_le_bytes());
                out.extend_from_slice(&seq.to_le_bytes());
            }
            Change::SegmentEnd(e) => {
                out.push(b'E');
                out.extend_from_slice(&e.segment.to_le_bytes());
                out.extend_from_slice(&e.end.to_le_bytes());
            }
        }
    }
}

/// A cursor over a payload.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_at_checked(N)?;
        self.0 = rest;
        head.try_into().ok()
    }
    fn u32(&mut self) -> Option<u32> {
        self.take::<4>().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take::<8>().map(u64::from_le_bytes)
    }
    fn change(&mut self) -> Option<Change> {
        let [tag] = self.take::<1>()?;
        Some(match tag {
            b'K' => Change::Publisher(PublicKey(self.take()?)),
            b'P' | b'Q' => {
                let digest = self.take()?;
                let hash = self.take()?;
                let seq = self.u64()?;
                let offset = self.u64()?;
                let segment = self.u32()?;
                let len = self.u32()?;
                let publisher = self.u32()?;
                let [kind, scope, tomb] = self.take::<3>()?;
                let row = Row {
                    digest,
                    hash,
                    seq,
                    offset,
                    segment,
                    len,
                    publisher,
                    kind,
                    scope,
                    tombstone: tomb == 1,
                };
                if tag == b'P' {
                    Change::Put(row)
                } else {
                    Change::PutSeq(row)
                }
            }
            b'R' => Change::Remove(self.take()?),
            b'S' => Change::Seq {
                publisher: self.u32()?,
                seq: self.u64()?,
                hash: self.take()?,
            },
            b'W' => Change::Watermark {
                publisher: self.u32()?,
                seq: self.u64()?,
            },
            b'E' => Change::SegmentEnd(SegmentEnd {
                segment: self.u32()?,
                end: self.u64()?,
            }),
            _ => return None,
        })
    }
}

/// Frame the changes: length ‖ CRC ‖ payload.
pub fn frame(changes: &[Change]) -> Vec<u8> {
    let mut buf = vec![0u8; FRAME];
    encode(changes, &mut buf);
    let len = (buf.len() - FRAME) as u32;
    let crc = crc32fast::hash(&buf[FRAME..]);
    buf[..4].copy_from_slice(&len.to_le_bytes());
    buf[4..8].copy_from_slice(&crc.to_le_bytes());
    buf
}

/// What replaying found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub frames: u64,
    pub changes: u64,
    /// Bytes of a torn or garbage tail cut off.
    pub cut_bytes: u64,
}

/// A complete log being written (by a migration, or a compaction): built under a
/// temporary name ([`BUILDING`], [`COMPACTING`]), fsynced, then renamed to [`FILE`],
/// so a crash leaves either the old log (or none) or the whole new one.
pub struct LogBuilder {
    dir: PathBuf,
    name: &'static str,
    out: std::io::BufWriter<File>,
    len: u64,
}

impl LogBuilder {
    pub fn new(store_dir: &Path, name: &'static str) -> Result<LogBuilder, StoreError> {
        let dir = store_dir.join(DIR);
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, "creating", e))?;
        let building = dir.join(name);
        let file = File::create(&building).map_err(|e| io_err(&building, "creating", e))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        out.write_all(MAGIC)
            .map_err(|e| io_err(&building, "writing", e))?;
        Ok(LogBuilder {
            dir,
            name,
            out,
            len: MAGIC.len() as u64,
        })
    }

    /// Add one frame (nothing for no changes).
    pub fn frame(&mut self, changes: &[Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let f = frame(changes);
        self.len += f.len() as u64;
        self.out
            .write_all(&f)
            .map_err(|e| io_err(&self.dir.join(self.name), "writing", e))
    }

    /// Fsync the file without renaming it (what a crash before the rename leaves).
    fn sync(self) -> Result<(PathBuf, u64), StoreError> {
        let building = self.dir.join(self.name);
        let file = self
            .out
            .into_inner()
            .map_err(|e| io_err(&building, "writing", e.into_error()))?;
        file.sync_all()
            .map_err(|e| io_err(&building, "syncing", e))?;
        Ok((building, self.len))
    }

    /// Fsync, rename into place, fsync the folder: the new log's length.
    pub fn finish(self) -> Result<u64, StoreError> {
        let dir = self.dir.clone();
        let (building, len) = self.sync()?;
        let path = dir.join(FILE);
        std::fs::rename(&building, &path).map_err(|e| io_err(&path, "renaming into", e))?;
        sync_dir(&dir)?;
        Ok(len)
    }
}

pub struct IndexLog {
    path: PathBuf,
    /// The file and its committed end; written only under the store's write lock.
    file: Mutex<(File, u64)>,
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, "syncing the index folder", e))
}

impl IndexLog {
    /// Open the log at [`log_path`] and replay it into a fresh index; cut a torn tail
    /// and remove what an interrupted compaction left.
    pub fn open(store_dir: &Path) -> Result<(IndexLog, MemIndex, Replayed), StoreError> {
        let path = log_path(store_dir);
        let compacting = store_dir.join(DIR).join(COMPACTING);
        match std::fs::remove_file(&compacting) {
            Ok(()) => tracing::warn!(
                file = %compacting.display(),
                "removed the index log of an interrupted compaction (the previous log is complete)"
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&compacting, "removing", e)),
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_err(&path, "opening the index log", e))?;
        let len = file
            .metadata()
            .map_err(|e| io_err(&path, "reading the length of", e))?
            .len();
        let mut index = MemIndex::default();
        let mut replayed = Replayed::default();
        let mut r = BufReader::with_capacity(1 << 20, &file);
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic)
            .map_err(|e| io_err(&path, "reading the header of", e))?;
        if &magic != MAGIC {
            return Err(StoreError::Format {
                path: path.display().to_string(),
                detail: format!("not a format-4 index log (header {})", hex::encode(magic)),
            });
        }
        let mut end = MAGIC.len() as u64;
        let mut payload = Vec::new();
        loop {
            let mut head = [0u8; FRAME];
            if read_full(&mut r, &mut head).map_err(|e| io_err(&path, "reading", e))? < FRAME {
                break;
            }
            let n = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
            let crc = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
            if n > MAX_FRAME || end + (FRAME as u64) + u64::from(n) > len {
                break;
            }
            payload.resize(n as usize, 0);
            if read_full(&mut r, &mut payload).map_err(|e| io_err(&path, "reading", e))?
                < payload.len()
                || crc32fast::hash(&payload) != crc
            {
                break;
            }
            // Applied as decoded: a CRC-valid frame that does not decode or apply is
            // corruption, and refuses the open.
            let mut c = Cursor(&payload);
            let mut applied = 0u64;
            while !c.0.is_empty() {
                let change = c
                    .change()
                    .ok_or_else(|| corrupt_frame(&path, end, "an undecodable change"))?;
                index
                    .apply(&change)
                    .map_err(|e| corrupt_frame(&path, end, &e))?;
                applied += 1;
            }
            replayed.frames += 1;
            replayed.changes += applied;
            end += (FRAME + payload.len()) as u64;
        }
        drop(r);
        if len > end {
            file.set_len(end)
                .and_then(|_| file.sync_all())
                .map_err(|e| io_err(&path, "cutting the torn tail of", e))?;
            replayed.cut_bytes = len - end;
        }
        Ok((
            IndexLog {
                path,
                file: Mutex::new((file, end)),
            },
            index,
            replayed,
        ))
    }

    /// Append one frame and fsync it (the commit point of a batch). On failure the
    /// file is cut back, so the next frame starts at a clean end.
    pub fn append(&self, changes: &[Change]) -> Result<(), StoreError> {
        let buf = frame(changes);
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let end = f.1;
        let written = f.0.write_all_at(&buf, end).and_then(|_| f.0.sync_data());
        if let Err(e) = written {
            let _ = f.0.set_len(end);
            return Err(io_err(&self.path, "appending to the index log", e));
        }
        f.1 += buf.len() as u64;
        Ok(())
    }

    /// Bytes of the log (header and committed frames).
    pub fn len(&self) -> u64 {
        self.file.lock().unwrap_or_else(|p| p.into_inner()).1
    }

    /// Write the live `index` as a new log and switch to it atomically by rename.
    /// Call under the store's write lock (no frame may be appended meanwhile).
    pub fn compact(&self, store_dir: &Path, index: &MemIndex) -> Result<u64, StoreError> {
        let mut b = LogBuilder::new(store_dir, COMPACTING)?;
        index.snapshot(SNAPSHOT_FRAME, &mut |changes| b.frame(changes))?;
        let len = b.finish()?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(|e| io_err(&self.path, "reopening the compacted index log", e))?;
        *self.file.lock().unwrap_or_else(|p| p.into_inner()) = (file, len);
        Ok(len)
    }

    /// A compaction interrupted before its rename: the new log written and fsynced,
    /// the old one still in place.
    #[cfg(test)]
    pub fn compact_without_switching(store_dir: &Path, index: &MemIndex) -> Result<(), StoreError> {
        let mut b = LogBuilder::new(store_dir, COMPACTING)?;
        index.snapshot(SNAPSHOT_FRAME, &mut |changes| b.frame(changes))?;
        b.sync().map(|_| ())
    }
}

fn corrupt_frame(path: &Path, at: u64, detail: &str) -> StoreError {
    StoreError::Corrupt {
        what: format!("index log {} frame at byte {at}", path.display()),
        detail: format!("CRC-valid but {detail}"),
    }
}

/// Read until `buf` is full or the end of the file: how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
