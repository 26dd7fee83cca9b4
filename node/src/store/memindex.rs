//! The in-memory index of store format 4: one fixed-size [`Row`] per current version
//! (80 bytes), found by identity digest (ordered, for sync ranges and the digest) and
//! by record hash; per-publisher watermarks and the `(publisher, seq) → hash` of every
//! version ever seen; running counts. It is rebuilt at open by replaying the index log
//! (`indexlog.rs`), and changed only through [`MemIndex::apply`] with the same
//! [`Change`]s the log holds, so the state after a reopen equals the state before.
//!
//! Sizing (per record at 1 M): the row 80 B; its `by_digest` entry (8 B, see
//! `digestmap.rs`); its `by_hash` entry (8 B in a hash table); its seq entry (12 B), which
//! points at the row while the version is current and holds a full hash (32 B in
//! `superseded`) only once it is superseded or purged.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use techmesh_protocol::body::Scope;
use techmesh_protocol::record::{PublicKey, RecordHash};
use techmesh_protocol::Kind;

use super::digestmap::DigestMap;
use super::keys::{self, SyncItem};
use super::segments::{Location, SegmentEnd};
use super::Counts;

/// A hasher for keys that are integers (seqs) or already uniform (hash prefixes).
#[derive(Default)]
pub struct Mix(u64);

impl Hasher for Mix {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(self.0 ^ u64::from(*b));
        }
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }
    fn write_u64(&mut self, x: u64) {
        let m = (x ^ self.0.rotate_left(5)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = m ^ (m >> 32);
    }
}

type Fast<K, V> = HashMap<K, V, BuildHasherDefault<Mix>>;

/// A seq as two u32 halves: with a u32 value, an entry is 12 bytes, not 16 (a u64
/// key would pad it), 8 MB less at 1 M entries.
#[derive(Clone, Copy, PartialEq, Eq)]
struct SeqKey([u32; 2]);

impl SeqKey {
    fn of(seq: u64) -> SeqKey {
        SeqKey([(seq >> 32) as u32, seq as u32])
    }
    fn seq(self) -> u64 {
        (u64::from(self.0[0]) << 32) | u64::from(self.0[1])
    }
}

impl std::hash::Hash for SeqKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.seq());
    }
}

/// Seq entries with this bit set index `superseded`; others are row slots.
const SUPERSEDED: u32 = 1 << 31;

/// One current version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub digest: [u8; 16],
    pub hash: [u8; 32],
    pub seq: u64,
    /// Offset of the record's frame in its segment.
    pub offset: u64,
    pub segment: u32,
    pub len: u32,
    /// Interned publisher id (see [`MemIndex::publisher_key`]).
    pub publisher: u32,
    /// Kind tag of the identity (a tombstone keeps its target's kind).
    pub kind: u8,
    /// Scope byte: `f`, `n` or `i`.
    pub scope: u8,
    pub tombstone: bool,
}

impl Row {
    pub fn location(&self) -> Location {
        Location {
            segment: self.segment,
            offset: self.offset,
            len: self.len,
        }
    }

    pub fn kind(&self) -> Option<Kind> {
        Kind::from_tag(self.kind)
    }
}

pub fn scope_byte(s: Scope) -> u8 {
    match s {
        Scope::Federation => b'f',
        Scope::National => b'n',
        Scope::International => b'i',
    }
}

pub fn scope_of(b: u8) -> Scope {
    match b {
        b'n' => Scope::National,
        b'i' => Scope::International,
        _ => Scope::Federation,
    }
}

/// One change of the index: what a log frame holds, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Intern the next publisher id.
    Publisher(PublicKey),
    /// Make `row` the current version of its identity digest.
    Put(Row),
    /// [`Change::Put`], then [`Change::Seq`] of the row's own (publisher, seq, hash):
    /// a new version that is the first seen under its seq (the common case).
    PutSeq(Row),
    /// Remove the current version of an identity digest (purge).
    Remove([u8; 16]),
    /// First version seen under `(publisher, seq)`.
    Seq {
        publisher: u32,
        seq: u64,
        hash: [u8; 32],
    },
    /// New highest seq seen from a publisher.
    Watermark { publisher: u32, seq: u64 },
    /// The durable end of the segment files after this batch.
    SegmentEnd(SegmentEnd),
}

struct Publisher {
    key: PublicKey,
    watermark: Option<u64>,
    /// seq → row slot, or `SUPERSEDED | index into superseded`.
    seqs: Fast<SeqKey, u32>,
}

#[derive(Default)]
pub struct MemIndex {
    rows: Vec<Row>,
    free: Vec<u32>,
    by_digest: DigestMap,
    /// First 4 bytes of the hash → slot; a live hash whose prefix is taken goes to
    /// `hash_overflow` (~n²/2³³ of them: ~120 at 1 M; the full hash is checked in the
    /// row either way).
    by_hash: Fast<u32, u32>,
    hash_overflow: HashMap<[u8; 32], u32>,
    publishers: Vec<Publisher>,
    publisher_ids: HashMap<PublicKey, u32>,
    superseded: Vec<[u8; 32]>,
    counts: Counts,
    segment_end: Option<SegmentEnd>,
}

fn prefix4(h: &[u8; 32]) -> u32 {
    u32::from_le_bytes(h[..4].try_into().expect("4 bytes"))
}

impl MemIndex {
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    pub fn counts(&self) -> Counts {
        self.counts.clone()
    }

    pub fn segment_end(&self) -> Option<SegmentEnd> {
        self.segment_end
    }

    pub fn publisher_id(&self, key: &PublicKey) -> Option<u32> {
        self.publisher_ids.get(key).copied()
    }

    /// Ids are dense: the next one interned is this.
    pub fn publisher_count(&self) -> u32 {
        self.publishers.len() as u32
    }

    pub fn publisher_key(&self, id: u32) -> PublicKey {
        self.publishers[id as usize].key
    }

    pub fn watermark(&self, id: u32) -> Option<u64> {
        self.publishers[id as usize].watermark
    }

    /// Hash of the first version seen under `(publisher, seq)`.
    pub fn seq_hash(&self, publisher: u32, seq: u64) -> Option<[u8; 32]> {
        let v = *self.publishers[publisher as usize]
            .seqs
            .get(&SeqKey::of(seq))?;
        Some(if v & SUPERSEDED != 0 {
            self.superseded[(v & !SUPERSEDED) as usize]
        } else {
            self.rows[v as usize].hash
        })
    }

    /// Bytes of the index log that [`MemIndex::snapshot`] writes (frames' headers
    /// aside): what compaction compares the log with.
    pub fn snapshot_bytes(&self) -> u64 {
        (self.publishers.len() * (33 + 13)
            + self.by_digest.len() * 81
            + self.superseded_live() * 45
            + 13) as u64
    }

    /// Seq entries holding a full hash (their version is superseded or purged).
    fn superseded_live(&self) -> usize {
        self.publishers
            .iter()
            .map(|p| p.seqs.values().filter(|v| *v & SUPERSEDED != 0).count())
            .sum()
    }

    /// The live state as changes that rebuild it (publishers in id order, rows, seq
    /// entries, watermarks, the segment end), handed to `sink` `per_frame` at a time.
    pub fn snapshot<E>(
        &self,
        per_frame: usize,
        sink: &mut dyn FnMut(&[Change]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut frame = Vec::with_capacity(per_frame);
        let mut push = |c: Change, frame: &mut Vec<Change>| -> Result<(), E> {
            frame.push(c);
            if frame.len() >= per_frame {
                sink(frame)?;
                frame.clear();
            }
            Ok(())
        };
        for p in &self.publishers {
            push(Change::Publisher(p.key), &mut frame)?;
        }
        for (slot, r) in self.by_digest.slots().map(|s| (s, &self.rows[s as usize])) {
            let own_seq = self.publishers[r.publisher as usize]
                .seqs
                .get(&SeqKey::of(r.seq))
                == Some(&slot);
            push(
                if own_seq {
                    Change::PutSeq(*r)
                } else {
                    Change::Put(*r)
                },
                &mut frame,
            )?;
        }
        for (id, p) in self.publishers.iter().enumerate() {
            for (key, v) in &p.seqs {
                let seq = key.seq();
                // Entries pointing at rows came with their PutSeq.
                if v & SUPERSEDED == 0 {
                    continue;
                }
                let change = Change::Seq {
                    publisher: id as u32,
                    seq,
                    hash: self.superseded[(v & !SUPERSEDED) as usize],
                };
                push(change, &mut frame)?;
            }
            if let Some(seq) = p.watermark {
                let change = Change::Watermark {
                    publisher: id as u32,
                    seq,
                };
                push(change, &mut frame)?;
            }
        }
        if let Some(e) = self.segment_end {
            push(Change::SegmentEnd(e), &mut frame)?;
        }
        if !frame.is_empty() {
            sink(&frame)?;
        }
        Ok(())
    }

    pub fn row_by_digest(&self, digest: &[u8; 16]) -> Option<Row> {
        self.by_digest
            .get(digest, &self.rows)
            .map(|s| self.rows[s as usize])
    }

    fn slot_of_hash(&self, hash: &[u8; 32]) -> Option<u32> {
        match self.by_hash.get(&prefix4(hash)) {
            Some(s) if self.rows[*s as usize].hash == *hash => Some(*s),
            _ if self.hash_overflow.is_empty() => None,
            // The prefix's main entry may be another hash, or gone (no promotion).
            _ => self.hash_overflow.get(hash).copied(),
        }
    }

    pub fn row_by_hash(&self, hash: &RecordHash) -> Option<Row> {
        self.slot_of_hash(&hash.0).map(|s| self.rows[s as usize])
    }

    /// Current versions in identity-digest order.
    pub fn rows(&self) -> impl Iterator<Item = &Row> + '_ {
        self.by_digest.slots().map(|s| &self.rows[s as usize])
    }

    /// Current versions whose identity digest starts with `prefix`, in order.
    pub fn range<'a>(&'a self, prefix: &'a [u8]) -> impl Iterator<Item = &'a Row> + 'a {
        self.by_digest
            .range(prefix, &self.rows)
            .map(|s| &self.rows[s as usize])
    }

    pub fn sync_item(&self, row: &Row) -> SyncItem {
        SyncItem {
            id_digest: row.digest,
            seq: row.seq,
            hash: RecordHash(row.hash),
            scope: scope_of(row.scope),
            publisher: self.publisher_key(row.publisher),
            tombstone: row.tombstone,
        }
    }

    /// Count the current versions by kind from the rows (what `counts` must equal).
    pub fn recount(&self) -> Counts {
        let mut c = Counts::default();
        for r in self.rows() {
            if let Some(kind) = r.kind() {
                keys::tally(&mut c, kind, r.tombstone, true);
            }
        }
        c
    }

    /// Rows whose hash lookup does not lead back to them (for `check`).
    pub fn hash_lookup_mismatches(&self) -> usize {
        self.by_digest
            .slots()
            .filter(|s| self.slot_of_hash(&self.rows[*s as usize].hash) != Some(*s))
            .count()
    }

    /// Apply one change. An error means the change does not fit the state (a corrupt
    /// or misordered log), and names why.
    pub fn apply(&mut self, change: &Change) -> Result<(), String> {
        match change {
            Change::Publisher(key) => {
                if self.publisher_ids.contains_key(key) {
                    return Err(format!("publisher {key} interned twice"));
                }
                self.publisher_ids
                    .insert(*key, self.publishers.len() as u32);
                self.publishers.push(Publisher {
                    key: *key,
                    watermark: None,
                    seqs: Fast::default(),
                });
            }
            Change::Put(row) => {
                self.put(row)?;
            }
            Change::PutSeq(row) => {
                // The seq entry points at the row it came with (no hash lookup).
                let slot = self.put(row)?;
                self.publishers[row.publisher as usize]
                    .seqs
                    .insert(SeqKey::of(row.seq), slot);
            }
            Change::Remove(digest) => {
                let slot = self
                    .by_digest
                    .remove(digest, &self.rows)
                    .ok_or_else(|| format!("remove of absent identity {}", hex::encode(digest)))?;
                self.retire(slot);
                self.free.push(slot);
            }
            Change::Seq {
                publisher,
                seq,
                hash,
            } => {
                self.known(*publisher)?;
                let value = match self.slot_of_hash(hash) {
                    Some(s)
                        if self.rows[s as usize].publisher == *publisher
                            && self.rows[s as usize].seq == *seq =>
                    {
                        s
                    }
                    _ => self.push_superseded(*hash)?,
                };
                self.publishers[*publisher as usize]
                    .seqs
                    .insert(SeqKey::of(*seq), value);
            }
            Change::Watermark { publisher, seq } => {
                self.known(*publisher)?;
                self.publishers[*publisher as usize].watermark = Some(*seq);
            }
            Change::SegmentEnd(e) => self.segment_end = Some(*e),
        }
        Ok(())
    }

    /// Make `row` current: its slot.
    fn put(&mut self, row: &Row) -> Result<u32, String> {
        use std::collections::hash_map::Entry as HashEntry;
        self.known(row.publisher)?;
        let kind = row
            .kind()
            .ok_or_else(|| format!("unknown kind tag {}", row.kind))?;
        let slot = match self.by_digest.get(&row.digest, &self.rows) {
            Some(s) => {
                self.retire(s);
                self.rows[s as usize] = *row;
                s
            }
            None => {
                let s = match self.free.pop() {
                    Some(s) => {
                        self.rows[s as usize] = *row;
                        s
                    }
                    None => {
                        let s = self.rows.len() as u32;
                        if s >= SUPERSEDED {
                            return Err("more than 2^31 current versions".into());
                        }
                        self.rows.push(*row);
                        s
                    }
                };
                // The row holds its digest before the map compares with it.
                self.by_digest.insert_new(&row.digest, s, &self.rows);
                s
            }
        };
        match self.by_hash.entry(prefix4(&row.hash)) {
            HashEntry::Occupied(_) => {
                self.hash_overflow.insert(row.hash, slot);
            }
            HashEntry::Vacant(v) => {
                v.insert(slot);
            }
        }
        keys::tally(&mut self.counts, kind, row.tombstone, true);
        Ok(slot)
    }

    fn known(&self, publisher: u32) -> Result<(), String> {
        if (publisher as usize) < self.publishers.len() {
            Ok(())
        } else {
            Err(format!("unknown publisher id {publisher}"))
        }
    }

    fn push_superseded(&mut self, hash: [u8; 32]) -> Result<u32, String> {
        let i = self.superseded.len() as u32;
        if i >= SUPERSEDED {
            return Err("more than 2^31 superseded versions".into());
        }
        self.superseded.push(hash);
        Ok(SUPERSEDED | i)
    }

    /// The row in `slot` stops being current: its seq entry keeps its hash, its hash
    /// lookup goes, and it leaves the counts.
    fn retire(&mut self, slot: u32) {
        let old = self.rows[slot as usize];
        let points_here = self.publishers[old.publisher as usize]
            .seqs
            .get(&SeqKey::of(old.seq))
            == Some(&slot);
        if points_here {
            // Cannot fail below 2^31 superseded versions; a full table keeps the slot.
            if let Ok(v) = self.push_superseded(old.hash) {
                self.publishers[old.publisher as usize]
                    .seqs
                    .insert(SeqKey::of(old.seq), v);
            }
        }
        let p = prefix4(&old.hash);
        if self.by_hash.get(&p) == Some(&slot) {
            self.by_hash.remove(&p);
        } else {
            self.hash_overflow.remove(&old.hash);
        }
        if let Some(kind) = old.kind() {
            keys::tally(&mut self.counts, kind, old.tombstone, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(digest: u8, hash: [u8; 32], seq: u64) -> Row {
        Row {
            digest: [digest; 16],
            hash,
            seq,
            offset: 0,
            segment: 1,
            len: 1,
            publisher: 0,
            kind: b'e',
            scope: b'f',
            tombstone: false,
        }
    }

    #[test]
    fn hash_prefix_collisions_are_told_apart_and_seq_entries_keep_superseded_hashes() {
        let mut m = MemIndex::default();
        m.apply(&Change::Publisher(PublicKey([7; 32]))).unwrap();
        let mut h1 = [1u8; 32];
        let mut h2 = [1u8; 32];
        h1[31] = 1;
        h2[31] = 2;
        m.apply(&Change::Put(row(1, h1, 1))).unwrap();
        m.apply(&Change::Seq {
            publisher: 0,
            seq: 1,
            hash: h1,
        })
        .unwrap();
        m.apply(&Change::Put(row(2, h2, 2))).unwrap();
        assert_eq!(m.row_by_hash(&RecordHash(h1)).unwrap().digest, [1; 16]);
        assert_eq!(m.row_by_hash(&RecordHash(h2)).unwrap().digest, [2; 16]);
        assert_eq!(m.hash_lookup_mismatches(), 0);
        // Replace identity 1: its old hash stays as the seq entry, not as a row.
        let h3 = [3u8; 32];
        m.apply(&Change::Put(row(1, h3, 3))).unwrap();
        assert!(m.row_by_hash(&RecordHash(h1)).is_none());
        assert_eq!(m.row_by_hash(&RecordHash(h2)).unwrap().digest, [2; 16]);
        assert_eq!(m.seq_hash(0, 1), Some(h1));
        m.apply(&Change::Remove([2; 16])).unwrap();
        assert!(m.row_by_hash(&RecordHash(h2)).is_none());
        assert_eq!(m.len(), 1);
        assert_eq!(m.counts().entry, 1);
        assert!(m.apply(&Change::Remove([2; 16])).is_err());
    }

    #[test]
    fn rows_come_in_digest_order_and_ranges_select_by_prefix() {
        use sha2::{Digest, Sha256};
        let mut m = MemIndex::default();
        m.apply(&Change::Publisher(PublicKey([7; 32]))).unwrap();
        let mut model = std::collections::BTreeMap::new();
        for i in 0..3000u32 {
            let full = Sha256::digest(i.to_le_bytes());
            let mut d = [0u8; 16];
            d.copy_from_slice(&full[..16]);
            // Some digests share their first six bytes (the bucket and fragment).
            if i % 7 == 0 {
                d[..6].copy_from_slice(&[0x5a, 0x01, 2, 3, 4, 5]);
            }
            let mut h = [0u8; 32];
            h[..4].copy_from_slice(&i.to_le_bytes());
            let mut r = row(0, h, u64::from(i) + 1);
            r.digest = d;
            m.apply(&Change::Put(r)).unwrap();
            model.insert(d, h);
        }
        for (i, d) in model.keys().copied().collect::<Vec<_>>().iter().enumerate() {
            if i % 3 == 0 {
                m.apply(&Change::Remove(*d)).unwrap();
                model.remove(d);
            }
        }
        let got: Vec<([u8; 16], [u8; 32])> = m.rows().map(|r| (r.digest, r.hash)).collect();
        let want: Vec<([u8; 16], [u8; 32])> = model.iter().map(|(d, h)| (*d, *h)).collect();
        assert_eq!(got, want);
        assert_eq!(m.len(), model.len());
        for prefix in [
            &[][..],
            &[0x5a][..],
            &[0x5a, 0x01][..],
            &[0x5a, 0x01, 2, 3][..],
        ] {
            let got: Vec<[u8; 16]> = m.range(prefix).map(|r| r.digest).collect();
            let want: Vec<[u8; 16]> = model
                .keys()
                .filter(|d| d.starts_with(prefix))
                .copied()
                .collect();
            assert_eq!(got, want, "prefix {prefix:?}");
        }
        for d in model.keys() {
            assert_eq!(m.row_by_digest(d).unwrap().digest, *d);
        }
    }
}
